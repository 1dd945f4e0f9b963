// Starts Swagger UI on the hub's OpenAPI document (a file, not an inline script: the CSP
// allows no inline script). No validator badge: it would load an image from elsewhere.
window.ui = SwaggerUIBundle({
  url: new URL("../openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
