// Applies the saved theme before first paint (loaded in <head>, no inline script under CSP).
(function () {
  var saved = null;
  try { saved = localStorage.getItem("theme"); } catch (e) { /* storage disabled */ }
  if (saved === "light" || saved === "dark") {
    document.documentElement.dataset.theme = saved;
  }
})();
