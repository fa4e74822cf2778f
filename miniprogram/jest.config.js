// miniprogram-simulate renders components into jsdom; the preview script is not a test.
module.exports = {
  testEnvironment: "jsdom",
  testMatch: ["<rootDir>/tests/**/*.test.js"],
  setupFiles: ["<rootDir>/tests/helpers/setup.js"],
};
