// Proves the OpenAPI v2 / CRD → kubeconform schema conversion on small hand-made documents: the
// file layout matches kubeconform's path template, each schema is standalone (exactly the
// definitions it reaches), strictness closes objects without overriding explicit maps, and
// Kubernetes' int-or-string, Quantity and nullable types accept what the apiserver accepts.
// (The conversion of the real apiserver's document is exercised by chart.k8s.test.ts.)
import { describe, expect, it } from "vitest";
import {
  normalizeSchema,
  OBJECT_META,
  SchemaConversionError,
  schemaPathFor,
  schemasFromCrd,
  schemasFromOpenApiV2,
  type OpenApiV2Document,
  type Schema,
} from "./kubeconform-schemas.js";

const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });

const doc: OpenApiV2Document = {
  definitions: {
    "io.k8s.api.apps.v1.Widget": {
      type: "object",
      "x-kubernetes-group-version-kind": [{ group: "apps", version: "v1", kind: "Widget" }],
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: ref(OBJECT_META),
        spec: ref("io.k8s.api.apps.v1.WidgetSpec"),
      },
    },
    "io.k8s.api.apps.v1.WidgetSpec": {
      type: "object",
      properties: {
        port: ref("io.k8s.apimachinery.pkg.util.intstr.IntOrString"),
        size: ref("io.k8s.apimachinery.pkg.api.resource.Quantity"),
        labels: { type: "object", additionalProperties: { type: "string" } },
        // Property names that are also JSON Schema keywords must stay names.
        items: { type: "array", items: { type: "object", properties: { properties: { type: "string" } } } },
      },
    },
    "io.k8s.api.core.v1.Gadget": {
      type: "object",
      "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "Gadget" }],
      properties: { metadata: ref(OBJECT_META) },
    },
    [OBJECT_META]: { type: "object", properties: { name: { type: "string" }, labels: { type: "object", additionalProperties: { type: "string" } } } },
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": { type: "string", format: "int-or-string" },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": { type: "string" },
    "io.k8s.api.unrelated.v1.Thing": { type: "object", properties: { x: { type: "string" } } },
  },
};

describe("schemaPathFor follows kubeconform's {{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json", () => {
  it("uses the part before '/' as group, the core group's 'v1' included", () => {
    expect(schemaPathFor("apps/v1", "Deployment")).toBe("apps/v1/deployment.json");
    expect(schemaPathFor("v1", "ConfigMap")).toBe("v1/v1/configmap.json");
    expect(schemaPathFor("sluice.io/v1alpha1", "Topic")).toBe("sluice.io/v1alpha1/topic.json");
  });
});

describe("schemasFromOpenApiV2", () => {
  const schemas = schemasFromOpenApiV2(doc, { strict: true });

  it("writes one standalone schema per kind, with exactly the definitions it reaches", () => {
    expect([...schemas.keys()].sort()).toEqual(["apps/v1/widget.json", "v1/v1/gadget.json"]);
    const widget = schemas.get("apps/v1/widget.json") as Schema;
    expect(Object.keys(widget["definitions"] as Schema).sort()).toEqual(
      [
        "io.k8s.api.apps.v1.Widget",
        "io.k8s.api.apps.v1.WidgetSpec",
        OBJECT_META,
        "io.k8s.apimachinery.pkg.api.resource.Quantity",
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
      ].sort(),
    );
    expect(Object.keys((schemas.get("v1/v1/gadget.json") as Schema)["definitions"] as Schema).sort()).toEqual(
      ["io.k8s.api.core.v1.Gadget", OBJECT_META].sort(),
    );
    expect(widget["$schema"]).toBe("http://json-schema.org/draft-07/schema#");
    expect((widget["properties"] as Schema)["spec"]).toEqual(ref("io.k8s.api.apps.v1.WidgetSpec"));
  });

  it("closes objects that list properties, keeps explicit maps open, and keeps keyword-like property names", () => {
    const widget = schemas.get("apps/v1/widget.json") as Schema;
    expect(widget["additionalProperties"]).toBe(false);
    const spec = (widget["definitions"] as Record<string, Schema>)["io.k8s.api.apps.v1.WidgetSpec"] as Schema;
    expect(spec["additionalProperties"]).toBe(false);
    const properties = spec["properties"] as Record<string, Schema>;
    expect(properties["labels"]).toEqual({ type: "object", additionalProperties: { type: "string" } });
    expect(properties["items"]).toEqual({
      type: "array",
      items: { type: "object", properties: { properties: { type: "string" } }, additionalProperties: false },
    });
    // Not strict: nothing closed.
    const loose = schemasFromOpenApiV2(doc, { strict: false }).get("apps/v1/widget.json") as Schema;
    expect(loose["additionalProperties"]).toBeUndefined();
  });

  it("lets IntOrString take integers or strings and Quantity strings or numbers", () => {
    const definitions = (schemas.get("apps/v1/widget.json") as Schema)["definitions"] as Record<string, Schema>;
    expect(definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]).toEqual({ anyOf: [{ type: "integer" }, { type: "string" }] });
    expect(definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"]).toEqual({ anyOf: [{ type: "string" }, { type: "number" }] });
  });

  it("skips the groups it is told to, and refuses broken documents with a clear error", () => {
    expect([...schemasFromOpenApiV2(doc, { strict: true, skipGroups: ["apps"] }).keys()]).toEqual(["v1/v1/gadget.json"]);
    const dangling: OpenApiV2Document = {
      definitions: { "a.B": { type: "object", "x-kubernetes-group-version-kind": [{ group: "a", version: "v1", kind: "B" }], properties: { c: ref("a.Missing") } } },
    };
    expect(() => schemasFromOpenApiV2(dangling, { strict: true })).toThrow(new SchemaConversionError("$ref to a missing definition a.Missing"));
    expect(() => schemasFromOpenApiV2({} as OpenApiV2Document, { strict: true })).toThrow(SchemaConversionError);
    const external: OpenApiV2Document = {
      definitions: { "a.B": { type: "object", "x-kubernetes-group-version-kind": [{ group: "a", version: "v1", kind: "B" }], properties: { c: { $ref: "other.json#/x" } } } },
    };
    expect(() => schemasFromOpenApiV2(external, { strict: true })).toThrow("unsupported $ref other.json#/x");
  });
});

describe("normalizeSchema for CRD schemas", () => {
  it("turns x-kubernetes-int-or-string into an untyped anyOf, nullable into a type union, and drops extensions", () => {
    expect(
      normalizeSchema({ "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-validations": [{ rule: "true" }] }, true),
    ).toEqual({ anyOf: [{ type: "integer" }, { type: "string" }] });
    expect(normalizeSchema({ type: "string", format: "int-or-string" }, true)).toEqual({ anyOf: [{ type: "integer" }, { type: "string" }] });
    expect(normalizeSchema({ type: "string", nullable: true }, true)).toEqual({ type: ["string", "null"] });
  });
});

describe("schemasFromCrd", () => {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "gizmos.example.io" },
    spec: {
      group: "example.io",
      names: { kind: "Gizmo", plural: "gizmos" },
      versions: [
        {
          name: "v1beta1",
          schema: {
            openAPIV3Schema: {
              type: "object",
              required: ["spec"],
              properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, spec: { type: "object", properties: { n: { type: "integer" } } } },
            },
          },
        },
      ],
    },
  };

  it("pins apiVersion and kind, uses the apiserver's ObjectMeta for metadata, and closes the spec", () => {
    const schemas = schemasFromCrd(crd, doc, { strict: true });
    expect([...schemas.keys()]).toEqual(["example.io/v1beta1/gizmo.json"]);
    const schema = schemas.get("example.io/v1beta1/gizmo.json") as Schema;
    const properties = schema["properties"] as Record<string, Schema>;
    expect(properties["apiVersion"]).toEqual({ type: "string", enum: ["example.io/v1beta1"] });
    expect(properties["kind"]).toEqual({ type: "string", enum: ["Gizmo"] });
    expect(properties["metadata"]).toEqual(ref(OBJECT_META));
    expect(properties["spec"]).toEqual({ type: "object", properties: { n: { type: "integer" } }, additionalProperties: false });
    expect(schema["required"]).toEqual(["spec", "apiVersion", "kind", "metadata"]);
    expect(Object.keys(schema["definitions"] as Schema)).toEqual([OBJECT_META]);
  });

  it("refuses something that is not a CRD", () => {
    expect(() => schemasFromCrd({ kind: "ConfigMap" }, doc, { strict: true })).toThrow(SchemaConversionError);
    const noSchema = { ...crd, spec: { ...crd.spec, versions: [{ name: "v1" }] } };
    expect(() => schemasFromCrd(noSchema, doc, { strict: true })).toThrow("Gizmo v1: no openAPIV3Schema");
  });
});
