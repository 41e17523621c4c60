// Swagger UI for the county-facing API (vendored assets). Session users' writes carry the CSRF token.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  window.ui = SwaggerUIBundle({
    url: el.getAttribute("data-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
    requestInterceptor: function (req) {
      if (csrf && req.method && req.method.toUpperCase() !== "GET") { req.headers["X-CSRF-Token"] = csrf; }
      return req;
    },
  });
})();
