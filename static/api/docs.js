// The API page at /api/docs/: renders the OpenAPI schema the page names, with no
// outside assets (a static file, so the Content-Security-Policy needs no inline script).
(function () {
  "use strict";
  const target = document.getElementById("api-docs-body");
  let schemaDoc = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    children.flat(Infinity).forEach((child) => {
      if (child !== null && child !== undefined && child !== "") {
        node.append(child instanceof Node ? child : String(child));
      }
    });
    return node;
  }

  function resolve(schema) {
    let seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      const path = schema.$ref.replace(/^#\//, "").split("/");
      schema = path.reduce((node, key) => (node ? node[key] : undefined), schemaDoc);
    }
    if (schema && schema.allOf && schema.allOf.length === 1) {
      return Object.assign({}, resolve(schema.allOf[0]), schema, { allOf: undefined });
    }
    return schema || {};
  }

  function typeName(raw) {
    const schema = resolve(raw);
    const name = raw && raw.$ref ? raw.$ref.split("/").pop() : null;
    let text = schema.type || (schema.oneOf ? "one of" : "any");
    if (schema.type === "array") text = "array of " + typeName(schema.items || {});
    if (name && schema.type === "object") text = name;
    if (schema.format) text += " (" + schema.format + ")";
    if (schema.enum) text += ": " + schema.enum.filter((v) => v !== null).join(" | ");
    if (schema.nullable) text += ", nullable";
    if (schema.readOnly) text += ", read-only";
    return text;
  }

  function fieldRows(raw, prefix, depth, rows) {
    let schema = resolve(raw);
    if (schema.type === "array") {
      return fieldRows(schema.items || {}, prefix + "[]", depth, rows);
    }
    const required = new Set(schema.required || []);
    Object.entries(schema.properties || {}).forEach(([name, prop]) => {
      const full = prefix ? prefix + "." + name : name;
      const inner = resolve(prop);
      rows.push(el("tr", {},
        el("td", { class: "name" }, full),
        el("td", {}, typeName(prop)),
        el("td", {}, required.has(name) ? "required" : ""),
        el("td", {}, inner.description || "")));
      if (depth < 3) fieldRows(prop, full, depth + 1, rows);
    });
    return rows;
  }

  function fieldTable(raw) {
    const schema = resolve(raw);
    const rows = fieldRows(raw, "", 0, []);
    const head = el("tr", {}, el("th", {}, "field"), el("th", {}, "type"),
      el("th", {}, ""), el("th", {}, "meaning"));
    if (!rows.length) return el("p", { class: "muted" }, typeName(raw));
    const note = schema.type === "array" ? el("p", { class: "muted" }, "A JSON array of:") : null;
    return [note, el("table", {}, head, rows)];
  }

  function parameters(op) {
    if (!(op.parameters || []).length) return null;
    const head = el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"),
      el("th", {}, "type"), el("th", {}, "meaning"));
    return [el("h4", {}, "Parameters"), el("table", {}, head, op.parameters.map((p) =>
      el("tr", {}, el("td", { class: "name" }, p.name + (p.required ? " *" : "")),
        el("td", {}, p.in), el("td", {}, typeName(p.schema || {})),
        el("td", {}, p.description || ""))))];
  }

  function body(content) {
    const json = content && content["application/json"];
    return json ? fieldTable(json.schema || {}) : el("p", { class: "muted" }, "No body.");
  }

  function operation(path, method, op) {
    const parts = [
      el("summary", {}, el("span", { class: "method " + method }, method.toUpperCase()), path),
      op.description ? el("p", {}, op.description) : null,
      parameters(op),
    ];
    if (op.requestBody) parts.push(el("h4", {}, "Request body"), body(op.requestBody.content));
    parts.push(el("h4", {}, "Responses"));
    Object.entries(op.responses || {}).forEach(([code, response]) => {
      parts.push(el("p", {}, el("strong", {}, code), " ", response.description || ""));
      if (response.content) parts.push(body(response.content));
    });
    return el("details", { class: "op", id: (op.operationId || path + method) }, parts);
  }

  function render(doc) {
    schemaDoc = doc;
    const info = doc.info || {};
    const ops = [];
    Object.entries(doc.paths || {}).forEach(([path, item]) => {
      ["get", "post", "put", "patch", "delete"].forEach((method) => {
        if (item[method]) ops.push(operation(path, method, item[method]));
      });
    });
    target.replaceChildren(
      el("p", {}, (info.title || "") + " — version " + (info.version || "")),
      el("p", { class: "muted" }, info.description || ""),
      ...ops);
  }

  fetch(target.dataset.schemaUrl, { headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(render)
    .catch((error) => {
      target.replaceChildren(el("p", {}, "Could not load the schema: " + error.message));
    });
})();
