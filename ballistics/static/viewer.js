// Comparison viewer: side by side, overlay (reference over query, opacity slider) or flip
// (one image at a time, alternating). A file, because the CSP forbids inline script.
document.addEventListener("DOMContentLoaded", () => {
  const viewer = document.getElementById("viewer");
  if (!viewer) return;
  const reference = viewer.querySelector(".panel.reference");
  const opacity = document.getElementById("opacity");
  const flip = document.getElementById("flip-now");
  let showReference = true;

  function apply() {
    const mode = viewer.dataset.mode;
    for (const b of viewer.querySelectorAll("[data-set-mode]")) {
      b.setAttribute("aria-pressed", String(b.dataset.setMode === mode));
    }
    if (mode === "overlay") reference.style.opacity = String(opacity.value / 100);
    else if (mode === "flip") reference.style.opacity = showReference ? "1" : "0";
    else reference.style.opacity = "";
    flip.textContent = showReference ? "Showing reference · show query" : "Showing query · show reference";
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
});
