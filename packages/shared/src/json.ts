export type ReadonlyJSONValue =
  null | string | boolean | number | ReadonlyArray<ReadonlyJSONValue> | ReadonlyJSONObject;

export type ReadonlyJSONObject = {readonly [key: string]: ReadonlyJSONValue | undefined};

export type JSONValue = null | string | boolean | number | JSONValue[] | JSONObject;
export type JSONObject = {[key: string]: JSONValue | undefined};
