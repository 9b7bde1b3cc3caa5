// Starts Swagger UI on the OpenAPI document Silo serves next to this page.
// It is a file of its own because the page's Content-Security-Policy runs
// scripts from Silo's origin only, never inline ones.
"use strict";
window.ui = SwaggerUIBundle({
  url: "openapi.json", // beside the page: /api/openapi.json
  dom_id: "#api-reference",
  deepLinking: true,
  validatorUrl: null, // never send the document to validator.swagger.io
  persistAuthorization: false, // a pasted token lives in memory only
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
