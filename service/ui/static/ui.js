// slaclock dashboard: re-fetch the parts of a page marked data-refresh every few seconds.
// The server renders each fragment; this only swaps it in, so no markup is built here.
"use strict";
(function () {
  function refresh(section) {
    var url = section.getAttribute("data-refresh");
    var id = section.getAttribute("data-refresh-target");
    var seconds = Number(section.getAttribute("data-refresh-seconds")) || 15;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (response.redirected) {
            // Signed out or the token revoked: show the sign-in form rather than stale rows.
            window.location.assign(response.url);
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#" + id);
          var current = document.getElementById(id);
          if (fresh && current) { current.replaceWith(fresh); }
        })
        .catch(function () { /* the next tick retries */ });
    }
    window.setInterval(tick, seconds * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
  });
})();
