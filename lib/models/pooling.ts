/**
 * One vector per example from an encoder's sequence output [B, S, H]: its first token, or the
 * mean over its real tokens. With packed rows (several examples per row, see EncoderInputs), an
 * example is found by the flat index of its first token and the segment id its tokens carry.
 */
import { ops, type Tensor } from '../trace/index.js';

/** The first token of each row: [B, S, H] -> [B, H]. Sync. */
export function firstToken(sequence: Tensor): Tensor {
  const [batch, , hidden] = sequence.shape as [number, number, number];
  return ops.reshape(ops.slice(sequence, [0, 0, 0], [batch, 1, hidden]), [batch, hidden]);
}

/** The mean of each row over the positions where `attentionMask` [B, S] is 1 (all positions without a mask): [B, H]. Sync. */
export function maskedMean(sequence: Tensor, attentionMask: Tensor | undefined): Tensor {
  if (attentionMask === undefined) return ops.mean(sequence, 1);
  const [batch, seqLen] = attentionMask.shape as [number, number];
  const weights = ops.cast(attentionMask, 'f32');
  const total = ops.sum(ops.mul(sequence, ops.reshape(weights, [batch, seqLen, 1])), 1); // [B, H]
  return ops.div(total, ops.maximum(ops.sum(weights, 1, true), 1)); // / [B, 1]
}

/** The first token of each packed example: rows of `sequence` [B, S, H] at `starts` [E] (flat indices) -> [E, H]. Sync. */
export function exampleFirst(sequence: Tensor, starts: Tensor): Tensor {
  const [batch, seqLen, hidden] = sequence.shape as [number, number, number];
  return ops.take(ops.reshape(sequence, [batch * seqLen, hidden]), starts);
}

/**
 * The mean of each packed example over its tokens: the tokens of the row of its first token
 * that carry its segment id. `segmentIds` [B, S] (0 for padding), `starts` [E] -> [E, H]. Sync.
 */
export function exampleMean(sequence: Tensor, segmentIds: Tensor, starts: Tensor): Tensor {
  const [batch, seqLen, hidden] = sequence.shape as [number, number, number];
  const [examples] = starts.shape as [number];
  const flatSegments = ops.reshape(segmentIds, [batch * seqLen]);
  const tokenRow = ops.iota([examples, batch * seqLen], 's32', 1); // flat index of each token, per example
  const exampleRow = ops.reshape(ops.div(starts, seqLen), [examples, 1]); // the row of the example's first token
  const sameRow = ops.equal(ops.div(tokenRow, seqLen), ops.broadcastTo(exampleRow, [examples, batch * seqLen]));
  const segment = ops.reshape(ops.take(flatSegments, starts), [examples, 1]);
  const sameSegment = ops.equal(ops.broadcastTo(ops.reshape(flatSegments, [1, batch * seqLen]), [examples, batch * seqLen]), ops.broadcastTo(segment, [examples, batch * seqLen]));
  const member = ops.cast(ops.where(sameRow, sameSegment, sameRow), 'f32'); // [E, B*S]: both hold
  const sums = ops.matmul(member, ops.reshape(sequence, [batch * seqLen, hidden])); // [E, H]
  return ops.div(sums, ops.maximum(ops.sum(member, 1, true), 1));
}
