// Loaded before every test file: miniprogram-simulate installs its `wx` mock; each test then
// replaces the parts it uses with tests/helpers/fake-wx.js.
require("miniprogram-simulate");
