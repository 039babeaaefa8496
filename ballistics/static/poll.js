// Live status for scans and searches (a file, because the CSP forbids inline script).
// Every element with data-poll="<status.json URL>" is polled until its status is final; its
// badge and progress are updated in place. A scan that is done reveals its [data-when-done]
// controls, a failed one its [data-when-failed] controls (retry); an element marked
// data-reload reloads the page instead (the search's candidates or its failure).
(() => {
  const INTERVAL_MS = 1500;
  // counts as the page's language writes them (4,465 in English; 4465 and 12.345 in Spanish,
  // CLDR's minimum grouping digits, as the server writes them too); the JSON keeps plain numbers
  const count = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function update(el, s) {
    const badge = el.querySelector("[data-status]");
    if (badge) {
      // the server's label is in the reader's language; the code is the fallback
      badge.textContent = s.label || s.status.replace(/_/g, " ");
      badge.className = `badge st-${s.status}`;
      badge.title = s.reason || "";
      if (s.status === "failed" && s.reason && !el.querySelector("[data-reason]")) {
        const reason = document.createElement("span");
        reason.className = "reason";
        reason.dataset.reason = "";
        reason.textContent = s.reason;
        badge.after(" ", reason);
      }
    }
    const progress = document.querySelector("[data-progress]");
    if (progress && s.total !== undefined) progress.textContent = `${count.format(s.done)} / ${count.format(s.total)}`;
  }

  async function poll(el) {
    try {
      const response = await fetch(el.dataset.poll, {headers: {Accept: "application/json"},
                                                      credentials: "same-origin"});
      // Logged out (redirected to the login page) or gone: leave the page as it is.
      if (!response.ok || response.redirected) return;
      const s = await response.json();
      update(el, s);
      if (!s.final) {
        setTimeout(() => poll(el), INTERVAL_MS);
      } else if ("reload" in el.dataset) {
        window.location.reload();
      } else {
        // Final: reveal what now applies (search once done, retry once failed); stop polling.
        for (const hidden of el.querySelectorAll(`[data-when-${s.status}]`)) hidden.hidden = false;
      }
    } catch {
      setTimeout(() => poll(el), INTERVAL_MS * 4);  // network hiccup: try again later
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const el of document.querySelectorAll("[data-poll]")) setTimeout(() => poll(el), INTERVAL_MS);
  });
})();
