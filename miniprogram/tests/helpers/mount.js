// Load and render a component or a page of this mini-program with miniprogram-simulate.
//
// jest caches required modules, so a component's JS (which calls Component()) would run only for
// its first load; each load therefore runs in its own module registry, nested components included.

const path = require("path");
const simulate = require("miniprogram-simulate");

const ROOT = path.join(__dirname, "..", "..");
const ids = {};

/** `name` is a path under the mini-program root without extension, e.g. "components/ticket-card/index". */
function load(name, tagName) {
  const key = `${name}#${tagName || ""}`;
  if (!ids[key]) {
    jest.isolateModules(() => {
      ids[key] = simulate.load(path.join(ROOT, name), tagName || path.basename(path.dirname(name)), { rootPath: ROOT });
    });
  }
  return ids[key];
}

function mount(name, props, tagName) {
  const comp = simulate.render(load(name, tagName), props);
  comp.attach(document.createElement("parent-wrapper"));
  return comp;
}

function texts(comp, selector) {
  return comp.querySelectorAll(selector).map((node) => node.dom.textContent.trim());
}

module.exports = { ROOT, load, mount, texts };
