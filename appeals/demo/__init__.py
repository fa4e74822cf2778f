"""Demo registry data (fictional enterprises and butlers) and the script that generates it."""
