// Comparison viewer: side by side, overlay (reference over query, opacity slider) or flip
// (one image at a time, alternating); zoom (buttons, wheel) and pan (drag) act on both panels
// alike, so the same spot stays side by side. A file, because the CSP forbids inline script.
document.addEventListener("DOMContentLoaded", () => {
  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  const reference = viewer.querySelector(".panel.reference");
  const opacity = document.getElementById("opacity");
  const flip = document.getElementById("flip-now");
  const layers = [...viewer.querySelectorAll(".zoom")];
  const level = viewer.querySelector("[data-zoom-level]");
  let showReference = true;
  const view = { zoom: 1, x: 0, y: 0 };

  function apply() {
    const mode = viewer.dataset.mode;
    for (const b of viewer.querySelectorAll("[data-set-mode]")) {
      b.setAttribute("aria-pressed", String(b.dataset.setMode === mode));
    }
    if (mode === "overlay") reference.style.opacity = String(opacity.value / 100);
    else if (mode === "flip") reference.style.opacity = showReference ? "1" : "0";
    else reference.style.opacity = "";
    // the page's language, written by the template (data-showing-reference / -query)
    flip.textContent = showReference ? flip.dataset.showingReference : flip.dataset.showingQuery;
  }

  function frameWidth() { return layers[0].parentElement.clientWidth || 1; }

  function clamp() {
    // Keep the image covering the frame: no panning past its edges.
    const w = frameWidth(), h = layers[0].parentElement.clientHeight || w;
    view.x = Math.min(0, Math.max(view.x, w - w * view.zoom));
    view.y = Math.min(0, Math.max(view.y, h - h * view.zoom));
  }

  function render() {
    clamp();
    for (const l of layers) l.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
    viewer.dataset.zoom = view.zoom.toFixed(3);
    if (level) level.textContent = `${Math.round(view.zoom * 100)} %`;
  }

  function zoomAt(factor, cx, cy) {
    const z = Math.min(Math.max(view.zoom * factor, 1), 16);
    view.x = cx - (cx - view.x) * (z / view.zoom);
    view.y = cy - (cy - view.y) * (z / view.zoom);
    view.zoom = z;
    render();
  }

  for (const b of viewer.querySelectorAll("[data-zoom]")) {
    b.addEventListener("click", () => {
      const w = frameWidth(), c = w / 2;
      if (b.dataset.zoom === "in") zoomAt(1.5, c, c);
      else if (b.dataset.zoom === "out") zoomAt(1 / 1.5, c, c);
      else if (b.dataset.zoom === "fit") { view.zoom = 1; view.x = 0; view.y = 0; render(); }
      else {
        const img = layers[0].querySelector("img");
        zoomAt((img.naturalWidth || img.width) / (w * view.zoom), c, c);
      }
    });
  }
  for (const l of layers) {
    const frame = l.parentElement;
    frame.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = frame.getBoundingClientRect();
      zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    frame.addEventListener("pointerdown", (e) => {
      const start = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
      frame.setPointerCapture(e.pointerId);
      const move = (m) => { view.x = start.vx + m.clientX - start.x; view.y = start.vy + m.clientY - start.y; render(); };
      const up = () => { frame.removeEventListener("pointermove", move); frame.removeEventListener("pointerup", up); };
      frame.addEventListener("pointermove", move);
      frame.addEventListener("pointerup", up);
    });
  }

  for (const b of viewer.querySelectorAll("[data-set-mode]")) {
    b.addEventListener("click", () => { viewer.dataset.mode = b.dataset.setMode; apply(); });
  }
  opacity.addEventListener("input", apply);
  flip.addEventListener("click", () => {
    showReference = !showReference;
    apply();
  });
  document.getElementById("show-cells").addEventListener("change", (e) => {
    viewer.classList.toggle("no-cells", !e.target.checked);
  });
  apply();
  render();
});
