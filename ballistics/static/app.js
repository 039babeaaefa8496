// Every page (a file, because the CSP forbids inline script).
// On a small screen a wide table scrolls sideways inside its own box (app.css). A box that
// scrolls must be reachable by keyboard, so such a table takes the focus (arrow keys then
// scroll it); it gives the focus back up when the screen is wide enough again.
(() => {
  function markScrollingTables() {
    for (const table of document.querySelectorAll("main table")) {
      const scrolls = table.scrollWidth > table.clientWidth + 1;
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.tabIndex = 0;
        table.dataset.scrollX = "";
      } else if (!scrolls && table.dataset.scrollX !== undefined) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollX;
      }
    }
  }

  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(markScrollingTables);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", markScrollingTables);
  } else {
    markScrollingTables();
  }
})();
