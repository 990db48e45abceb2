/**
 * lib/base: the one table of dtype facts and the shared shape helpers, checked against what the
 * addon was compiled with and against the names the runtime, StableHLO and io layers expose.
 */
import t from 'tap';
import {
  DTYPES,
  RUNTIME_DTYPES,
  dtypeBytes,
  dtypeOfMlirElement,
  dtypeOfSafetensorsCode,
  hostArrayClass,
  isRuntimeDType,
  mlirElementType,
  pjrtTypeName,
  safetensorsCode,
} from '../lib/base/dtypes.js';
import { elementCount, formatTensorType, sameShape } from '../lib/base/shapes.js';
import * as io from '../lib/io/index.js';
import { loadAddon } from '../lib/native/binding.js';
import * as runtime from '../lib/runtime/index.js';
import { dtypeOfPjrtType, pjrtBufferType } from '../lib/runtime/dtypes.js';
import * as stablehlo from '../lib/stablehlo/index.js';

t.test('every dtype has distinct MLIR, PJRT and safetensors names that map back to it', async (t) => {
  t.equal(DTYPES.length, 13);
  for (const [name, spelling] of [
    ['MLIR', mlirElementType],
    ['PJRT', pjrtTypeName],
    ['safetensors', safetensorsCode],
  ] as const) {
    t.equal(new Set(DTYPES.map(spelling)).size, DTYPES.length, `${name} spellings are distinct`);
  }
  for (const dtype of DTYPES) {
    t.equal(dtypeOfMlirElement(mlirElementType(dtype)), dtype, `${dtype} <- MLIR ${mlirElementType(dtype)}`);
    t.equal(dtypeOfSafetensorsCode(safetensorsCode(dtype)), dtype, `${dtype} <- safetensors ${safetensorsCode(dtype)}`);
    t.equal(hostArrayClass(dtype).BYTES_PER_ELEMENT, dtypeBytes(dtype), `${dtype} host array holds ${dtypeBytes(dtype)}-byte elements`);
  }
  t.same([mlirElementType('pred'), mlirElementType('u8'), mlirElementType('s64')], ['i1', 'ui8', 'i64']);
  t.same([safetensorsCode('pred'), safetensorsCode('s64'), safetensorsCode('bf16')], ['BOOL', 'I64', 'BF16']);
  t.equal(dtypeOfSafetensorsCode('constructor'), undefined, 'object prototype names are no dtype codes');
});

t.test("the PJRT names are the addon's buffer types, and the runtime round-trips its dtypes through them", async (t) => {
  const types = loadAddon().bufferTypes;
  for (const dtype of DTYPES) t.type(types[pjrtTypeName(dtype)], 'number', `the addon knows PJRT_Buffer_Type_${pjrtTypeName(dtype)}`);
  for (const dtype of RUNTIME_DTYPES) t.equal(dtypeOfPjrtType(pjrtBufferType(dtype)), dtype);
  t.throws(() => dtypeOfPjrtType(types.U64), /not supported by pjrt-bert/, 'u64 is no runtime dtype');
});

t.test('the layers expose subsets of the one table', async (t) => {
  t.same(runtime.DTYPES, RUNTIME_DTYPES, 'runtime DTYPES');
  t.same(io.DTYPES, DTYPES, 'io DTYPES');
  for (const dtype of RUNTIME_DTYPES) {
    t.ok(runtime.isDType(dtype) && isRuntimeDType(dtype));
    t.equal(runtime.dtypeBytes(dtype), io.dtypeByteSize(dtype));
    t.equal(stablehlo.mlirElementType(dtype), mlirElementType(dtype));
  }
  t.notOk(runtime.isDType('u64'));
  t.notOk(runtime.isDType('toString'));
  t.equal(runtime.elementCount, elementCount, 'runtime elementCount is the base one');
  t.equal(io.elementCount, elementCount, 'io elementCount is the base one');
  t.equal(stablehlo.elementCount, elementCount, 'stablehlo elementCount is the base one');
  t.equal(stablehlo.sameShape, sameShape, 'stablehlo sameShape is the base one');
});

t.test('elementCount, sameShape and formatTensorType', async (t) => {
  t.equal(elementCount([]), 1);
  t.equal(elementCount([2, 3, 4]), 24);
  t.equal(elementCount([5, 0]), 0);
  t.throws(() => elementCount([2, -1]), { name: 'RangeError', message: 'invalid dimension -1 in shape [2, -1]' });
  t.throws(() => elementCount([1.5]), RangeError);
  t.ok(sameShape([2, 3], [2, 3]));
  t.notOk(sameShape([2, 3], [3, 2]));
  t.notOk(sameShape([2], [2, 1]));
  t.equal(formatTensorType({ dtype: 'bf16', shape: [5, 4] }), 'bf16[5,4]');
  t.equal(runtime.mainParameterTypes('func.func @main(%a: tensor<2x3xi1>, %b: tensor<ui32>) -> ()')?.map(formatTensorType).join(' '), 'pred[2,3] u32[]');
  t.equal(runtime.mainParameterTypes('func.func @main(%a: tensor<2xui64>) -> ()'), undefined, 'u64 parameters are not the runtime\'s');
});
