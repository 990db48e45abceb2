// bf16 training of the `mini` preset: f32 master weights and optimizer state, bf16 matmuls and
// activations. It learns, and stays close to the f32 run.
import t from 'tap';
import { generateDemoDataset } from '../lib/train/demo-data.js';
import type { ClassPrediction } from '../lib/train/predictions.js';
import { Trainer, type TrainerOptions } from '../lib/train/trainer.js';

const data = generateDemoDataset(600, 5);
const base = { model: 'mini', vocab: data.vocab, seqLen: 16, batchSize: 32, stepsPerExecution: 8, progress: 'none', compileCache: false } as const;

t.test('bf16 stays within 2e-2 of the f32 logits after a few steps', async (t) => {
  const few = { texts: data.texts.slice(0, 96), labels: data.labels.slice(0, 96) };
  const logits = async (precision: 'f32' | 'bf16') => {
    using trainer = await Trainer.create({ ...base, precision, epochs: 1, learningRate: 1e-4, dropout: 0 } as TrainerOptions);
    await trainer.fit(few);
    return (await trainer.predict(data.texts.slice(500, 532))).flatMap((p) => (p as ClassPrediction).logits);
  };
  const f32 = await logits('f32');
  const bf16 = await logits('bf16');
  const scale = Math.max(...f32.map(Math.abs));
  const worst = Math.max(...f32.map((x, i) => Math.abs(x - bf16[i]!)));
  t.ok(worst / scale <= 2e-2, `max |bf16 - f32| = ${worst.toExponential(2)}, ${(worst / scale).toExponential(2)} of the largest logit ${scale.toFixed(3)} (bound 2e-2)`);
});

t.test('a bf16 run learns: loss falls and validation accuracy beats the majority class', async (t) => {
  using trainer = await Trainer.create({ ...base, precision: 'bf16', epochs: 3, learningRate: 1e-3, warmupSteps: 5, validationSplit: 0.2 } as TrainerOptions);
  const history = await trainer.fit({ texts: data.texts, labels: data.labels });
  const first = history[0]!;
  const last = history.at(-1)!;
  t.ok(last.loss < first.loss, `training loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}`);
  t.ok(last.val_accuracy! > 0.45, `validation accuracy ${last.val_accuracy!.toFixed(3)} (majority class: 0.333)`);
});
