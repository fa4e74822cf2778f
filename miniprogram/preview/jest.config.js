// Renders the H5 preview of the mini-program's screens (not a test suite: `npm test` never runs it).
// Used by preview/screenshots.py; see docs/miniprogram.md.
const path = require("path");

module.exports = {
  rootDir: path.join(__dirname, ".."),
  testEnvironment: "jsdom",
  testMatch: ["<rootDir>/preview/*.preview.js"],
  setupFiles: ["<rootDir>/tests/helpers/setup.js"],
};
