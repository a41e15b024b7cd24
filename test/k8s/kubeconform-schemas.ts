/**
 * Test harness: turns the schemas a real kube-apiserver publishes (`GET /openapi/v2`) and the
 * repository's CRDs into the standalone JSON Schema files kubeconform reads from a local folder,
 * so `helm template | kubeconform` checks rendered manifests against the exact Kubernetes version
 * the tests run, offline.
 *
 * Layout: `<dir>/<group>/<version>/<kind lower-case>.json`, which kubeconform finds with
 * `-schema-location '<dir>/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json'`.
 * kubeconform's `.Group` is the part of apiVersion before "/" (so "apps" for apps/v1, and "v1"
 * for the core group's "v1": core kinds live in `<dir>/v1/v1/`); `schemaPathFor` follows it.
 *
 * Invariants:
 *   - Standalone: each file holds its kind's schema plus, under `definitions`, every definition
 *     it reaches through `$ref` (OpenAPI v2 refs are `#/definitions/<name>`, kept as they are).
 *   - Strict: every object schema that lists `properties` and says nothing about
 *     `additionalProperties` gets `additionalProperties: false`, so a misspelled field fails
 *     (the apiserver would drop it silently, or refuse it with fieldValidation=Strict).
 *   - Kubernetes' special string types accept what the apiserver accepts: IntOrString takes an
 *     integer or a string; Quantity a string or a number; CRD `x-kubernetes-int-or-string` keeps
 *     its anyOf; `nullable: true` also allows null.
 *   - Pure: no I/O here; `writeSchemaFiles` in the caller's hands does the writing.
 */

/** A JSON Schema / OpenAPI schema object, kept loose: we transform, not interpret. */
export type Schema = { [key: string]: unknown };

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface OpenApiV2Document {
  readonly definitions: Readonly<Record<string, Schema>>;
}

const DEFINITION_REF_PREFIX = "#/definitions/";
const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";
export const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const DRAFT = "http://json-schema.org/draft-07/schema#";

/** A document that does not look like what the apiserver serves; says what is wrong. */
export class SchemaConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SchemaConversionError";
  }
}

function isSchema(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** kubeconform's `.Group/.ResourceAPIVersion/.ResourceKind` for an apiVersion and kind. */
export function schemaPathFor(apiVersion: string, kind: string): string {
  const parts = apiVersion.split("/");
  const group = parts[0] ?? "";
  const version = parts[parts.length - 1] ?? "";
  return `${group}/${version}/${kind.toLowerCase()}.json`;
}

function apiVersionOf(gvk: GroupVersionKind): string {
  return gvk.group === "" ? gvk.version : `${gvk.group}/${gvk.version}`;
}

/** The definition names `schema` refers to directly. */
function refsOf(schema: unknown, out: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const item of schema) refsOf(item, out);
    return;
  }
  if (!isSchema(schema)) return;
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$ref" && typeof value === "string") {
      if (!value.startsWith(DEFINITION_REF_PREFIX)) throw new SchemaConversionError(`unsupported $ref ${value}`);
      out.add(value.slice(DEFINITION_REF_PREFIX.length));
    } else {
      refsOf(value, out);
    }
  }
}

/**
 * Rewrites one schema node (recursively): strictness, nullable, int-or-string. Property names
 * are data, not keywords: the children of `properties`/`definitions` are each a schema.
 */
export function normalizeSchema(schema: Schema, strict: boolean): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if ((key === "properties" || key === "definitions" || key === "patternProperties") && isSchema(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, isSchema(child) ? normalizeSchema(child, strict) : child]),
      );
    } else if ((key === "items" || key === "additionalProperties" || key === "not") && isSchema(value)) {
      out[key] = normalizeSchema(value, strict);
    } else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out[key] = value.map((child: unknown) => (isSchema(child) ? normalizeSchema(child, strict) : child));
    } else if (key === "nullable" || key.startsWith("x-kubernetes-")) {
      // OpenAPI / Kubernetes extensions, not JSON Schema: handled below or ignored.
    } else {
      out[key] = value;
    }
  }
  if (schema["format"] === "int-or-string" || schema["x-kubernetes-int-or-string"] === true) {
    delete out["type"];
    delete out["format"];
    if (out["anyOf"] === undefined) out["anyOf"] = [{ type: "integer" }, { type: "string" }];
  }
  if (schema["nullable"] === true && typeof out["type"] === "string") {
    out["type"] = [out["type"], "null"];
  }
  if (strict && isSchema(out["properties"]) && out["additionalProperties"] === undefined) {
    out["additionalProperties"] = false;
  }
  return out;
}

/** Definitions whose OpenAPI v2 form is narrower than what the apiserver accepts. */
function specialDefinition(name: string): Schema | undefined {
  if (name === INT_OR_STRING) return { anyOf: [{ type: "integer" }, { type: "string" }] };
  if (name === QUANTITY) return { anyOf: [{ type: "string" }, { type: "number" }] };
  return undefined;
}

/** Every definition `roots` reach, transitively, normalized. */
function closure(doc: OpenApiV2Document, roots: Iterable<string>, strict: boolean): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const pending = [...roots];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name in out) continue;
    const special = specialDefinition(name);
    if (special !== undefined) {
      out[name] = special;
      continue;
    }
    const definition = doc.definitions[name];
    if (definition === undefined) throw new SchemaConversionError(`$ref to a missing definition ${name}`);
    out[name] = normalizeSchema(definition, strict);
    const refs = new Set<string>();
    refsOf(definition, refs);
    pending.push(...refs);
  }
  return out;
}

function groupVersionKinds(definition: Schema): GroupVersionKind[] {
  const raw = definition["x-kubernetes-group-version-kind"];
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (g: unknown): g is GroupVersionKind =>
      isSchema(g) && typeof g["group"] === "string" && typeof g["version"] === "string" && typeof g["kind"] === "string",
  );
}

/**
 * One standalone schema per kind the apiserver serves (definitions carrying
 * `x-kubernetes-group-version-kind`), keyed by `schemaPathFor`. Kinds in `skipGroups` are left
 * out (e.g. sluice.io, whose schemas come from the CRD files instead).
 */
export function schemasFromOpenApiV2(
  doc: OpenApiV2Document,
  options: { readonly strict: boolean; readonly skipGroups?: readonly string[] },
): Map<string, Schema> {
  if (!isSchema(doc) || !isSchema(doc.definitions)) throw new SchemaConversionError("not an OpenAPI v2 document (no definitions)");
  const skip = new Set(options.skipGroups ?? []);
  const out = new Map<string, Schema>();
  for (const [name, definition] of Object.entries(doc.definitions)) {
    for (const gvk of groupVersionKinds(definition)) {
      if (skip.has(gvk.group)) continue;
      const definitions = closure(doc, [name], options.strict);
      const root = definitions[name] as Schema;
      out.set(schemaPathFor(apiVersionOf(gvk), gvk.kind), { $schema: DRAFT, ...root, definitions });
    }
  }
  return out;
}

interface CrdVersion {
  readonly name: string;
  readonly schema?: { readonly openAPIV3Schema?: Schema };
}

interface Crd {
  readonly apiVersion: string;
  readonly kind: string;
  readonly spec: { readonly group: string; readonly names: { readonly kind: string }; readonly versions: readonly CrdVersion[] };
}

function asCrd(value: unknown): Crd {
  const crd = value as Partial<Crd> | null;
  if (
    !isSchema(crd) ||
    crd.kind !== "CustomResourceDefinition" ||
    typeof crd.spec?.group !== "string" ||
    typeof crd.spec.names?.kind !== "string" ||
    !Array.isArray(crd.spec.versions)
  ) {
    throw new SchemaConversionError("not a CustomResourceDefinition (spec.group, spec.names.kind, spec.versions)");
  }
  return crd as Crd;
}

/**
 * One standalone schema per served version of a CRD (parsed YAML), keyed by `schemaPathFor`.
 * `metadata` is replaced by the apiserver's ObjectMeta (from `doc`), and apiVersion/kind are pinned.
 */
export function schemasFromCrd(crdDocument: unknown, doc: OpenApiV2Document, options: { readonly strict: boolean }): Map<string, Schema> {
  const crd = asCrd(crdDocument);
  const out = new Map<string, Schema>();
  for (const version of crd.spec.versions) {
    const schema = version.schema?.openAPIV3Schema;
    if (!isSchema(schema)) throw new SchemaConversionError(`${crd.spec.names.kind} ${version.name}: no openAPIV3Schema`);
    const apiVersion = `${crd.spec.group}/${version.name}`;
    const root = normalizeSchema(schema, options.strict);
    const properties = { ...(isSchema(root["properties"]) ? root["properties"] : {}) };
    properties["apiVersion"] = { type: "string", enum: [apiVersion] };
    properties["kind"] = { type: "string", enum: [crd.spec.names.kind] };
    properties["metadata"] = { $ref: `${DEFINITION_REF_PREFIX}${OBJECT_META}` };
    out.set(schemaPathFor(apiVersion, crd.spec.names.kind), {
      $schema: DRAFT,
      ...root,
      required: [...new Set([...(Array.isArray(root["required"]) ? (root["required"] as string[]) : []), "apiVersion", "kind", "metadata"])],
      properties,
      definitions: closure(doc, [OBJECT_META], options.strict),
    });
  }
  return out;
}
