// OrderLoom console: show why an htmx request was refused (403, 404, 409…) instead of doing nothing.
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("flash");
  if (!box) { return; }
  var xhr = event.detail.xhr;
  var text = "Request failed (HTTP " + xhr.status + ").";
  var type = xhr.getResponseHeader("Content-Type") || "";
  if (type.indexOf("text/html") === 0) {
    var alert = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector("[role=alert]");
    if (alert) { text = alert.textContent; }
  } else if (type.indexOf("application/problem+json") === 0) {
    try { text = JSON.parse(xhr.responseText).detail || text; } catch (e) { /* keep the generic text */ }
  }
  box.textContent = text;
  box.hidden = false;
});
