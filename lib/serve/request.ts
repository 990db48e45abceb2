/**
 * `POST /predict` request bodies, read as Hugging Face text-embeddings-inference (TEI) reads them,
 * and the JSON error every route answers with (`{"error", "error_type"}`, TEI's shape).
 *
 * Accepted bodies (unknown fields are ignored, as TEI's serde structs do):
 *
 *     {"inputs": "text"}                          one input           -> [{label, score}, ...]
 *     {"inputs": ["text a", "text b"]}            one pair            -> [{label, score}, ...]
 *     {"inputs": ["text"]}                        one input           -> [{label, score}, ...]
 *     {"inputs": [["t1"], ["t2a", "t2b"], ...]}   a batch             -> [[...], [...], ...]
 *     "truncate": true|false|null   (default false), "truncation_direction": "right",
 *     "raw_scores": true|false      (default false),
 *     "aggregation_strategy": "simple"|"none"   (token classification only; default "simple")
 *
 * Status codes: body that is not JSON 400 (as TEI); JSON of the wrong shape 422 (TEI's code: its
 * JSON extractor and its `validation` errors answer 422, so TEI clients already handle it); an empty
 * batch 400 (`error_type: "empty"`, as TEI).
 */

/** TEI's error kinds (`error_type` of an error body), plus `not_found`/`method_not_allowed` for routing. */
export type ErrorType =
  | 'unhealthy'
  | 'backend'
  | 'overloaded'
  | 'validation'
  | 'tokenizer'
  | 'empty'
  | 'not_found'
  | 'method_not_allowed';

/**
 * An error that becomes an HTTP response: `status`, and a JSON body `{"error": message,
 * "error_type": type}`; `headers` are added to the response (`Retry-After`, `Allow`).
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** The JSON body TEI answers errors with. Sync; never throws. */
  body(): string {
    return JSON.stringify({ error: this.message, error_type: this.type });
  }
}

/** How token-classification outputs are grouped (Hugging Face pipeline's `aggregation_strategy`). */
export type Aggregation = 'none' | 'simple';

/** A parsed `POST /predict` body. */
export interface PredictRequest {
  /** The inputs, in request order. */
  readonly inputs: readonly { text: string; pair?: string }[];
  /** Whether the body was a batch (`[[...], ...]`), so the answer is a list of results. */
  readonly batch: boolean;
  /** `truncate` as sent (undefined when absent or null: the server's default applies). */
  readonly truncate: boolean | undefined;
  readonly rawScores: boolean;
  readonly aggregation: Aggregation;
}

const SHAPES = 'a string, a pair of strings [string, string], or a batch of singles and pairs [[string], [string, string], ...]';

function invalid(message: string): HttpError {
  return new HttpError(422, 'validation', message);
}

function sequence(value: unknown, where: string): { text: string; pair?: string } {
  if (!Array.isArray(value)) throw invalid(`${where} is ${describe(value)}; a batch item must be [string] or [string, string]`);
  if (value.length < 1 || value.length > 2) throw invalid(`${where} has ${value.length} strings; a batch item must be [string] or [string, string]`);
  value.forEach((item, i) => {
    if (typeof item !== 'string') throw invalid(`${where}[${i}] is ${describe(item)}, not a string`);
  });
  return value.length === 1 ? { text: value[0] as string } : { text: value[0] as string, pair: value[1] as string };
}

/** A short description of a JSON value for error messages (its type, never its whole text). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  return `${typeof value} ${String(value)}`;
}

function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(`"${name}" is ${describe(value)}; send true or false`);
  return value;
}

/**
 * Reads the raw body of `POST /predict`. Sync; throws HttpError: 400 (`validation`) for text that
 * is not JSON, 422 (`validation`) for JSON of the wrong shape or an option this server does not
 * support, 400 (`empty`) for an empty `inputs` list.
 */
export function parsePredictRequest(text: string): PredictRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'validation', `the request body is not valid JSON (${(error as Error).message}); send {"inputs": ...} with ${SHAPES}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid(`the request body is ${describe(body)}; send a JSON object {"inputs": ...} with ${SHAPES}`);
  }
  const fields = body as Record<string, unknown>;
  const inputs = fields.inputs;
  let parsed: { text: string; pair?: string }[];
  let batch = false;
  if (inputs === undefined) throw invalid(`the request has no "inputs" field; send {"inputs": ...} with ${SHAPES}`);
  if (typeof inputs === 'string') parsed = [{ text: inputs }];
  else if (Array.isArray(inputs)) {
    if (inputs.length === 0) throw new HttpError(400, 'empty', '"inputs" is an empty list; send at least one input');
    if (typeof inputs[0] === 'string') {
      // one input or one pair, as TEI: ["text"] or ["text a", "text b"]
      if (inputs.length > 2) throw invalid(`"inputs" is a list of ${inputs.length} strings; a pair has 2 (for a batch send ${SHAPES.split(', or ')[1]})`);
      parsed = [sequence(inputs, '"inputs"')];
    } else {
      batch = true;
      parsed = inputs.map((item, i) => sequence(item, `"inputs"[${i}]`));
    }
  } else throw invalid(`"inputs" is ${describe(inputs)}; send ${SHAPES}`);

  const truncate = optionalBoolean(fields, 'truncate');
  const rawScores = optionalBoolean(fields, 'raw_scores') ?? false;
  const direction = fields.truncation_direction;
  if (direction !== undefined && direction !== null && direction !== 'right' && direction !== 'Right') {
    throw invalid(`"truncation_direction" ${JSON.stringify(direction)} is not supported; this server truncates on the right (send "right" or leave it out)`);
  }
  const strategy = fields.aggregation_strategy ?? 'simple';
  if (strategy !== 'simple' && strategy !== 'none') {
    throw invalid(`"aggregation_strategy" ${JSON.stringify(strategy)} is not supported; send "simple" (group B-/I- tags into entities) or "none" (one result per token)`);
  }
  return { inputs: parsed, batch, truncate, rawScores, aggregation: strategy };
}
