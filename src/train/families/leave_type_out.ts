/**
 * Leave-one-attack-type-out inside the training data, to weigh the ensemble
 * (see ../ensemble/novelty_weights.ts). For each of a few attack types of
 * the training rows, the members are trained again without that type and
 * scored on its rows and on the validation benign rows; together with the
 * known attacks of the validation rows these groups set the weights.
 *
 * Anomaly families train on the benign rows only, so removing an attack type
 * leaves their training rows (and, with the same seed, the member) unchanged:
 * the member trained on every type is reused. Classifiers are trained again.
 * The caller passes only training rows: the type left out for evaluation and
 * the test rows are never here.
 */
import { type Dataset, selectRows } from "../dataset.ts";
import {
  calibrateMember,
  groupDetection,
  learnNoveltyWeights,
  type MemberCalibration,
  type NoveltyWeights,
  surprise,
  type WeightGroup,
} from "../ensemble/mod.ts";
import type { ProgressReporter } from "../progress.ts";
import { attackFlags, type Family, type TrainedMember } from "./families.ts";

/** Options of {@link leaveTypeOutWeights}. */
export interface LeaveTypeOutOptions {
  /** At most this many attack types are held out, one at a time. */
  types: number;
  /** Types with fewer training rows are never held out (too few to measure). */
  minRows: number;
  /** Attack rows scored per held-out type (an evenly spaced sample beyond it). */
  maxRows: number;
  targetFpr: number;
  seed: number;
  progress?: ProgressReporter;
}

export const DEFAULT_LEAVE_TYPE_OUT = { types: 4, minRows: 30, maxRows: 2000 };

/** The weights and what they were learned from. */
export interface LeaveTypeOutWeights extends NoveltyWeights {
  /** Attack types held out of the members' training, in turn. */
  heldOutTypes: string[];
  /** Per group (`known` and each held-out type), each member's detection alone. */
  memberDetection: Record<string, number[]>;
}

/**
 * Attack types to hold out: at least `minRows` rows, taken one class at a
 * time (the largest type of each class first, then the next), so a few types
 * cover every attack class rather than one family of floods.
 */
export function typesToHoldOut(
  y: ArrayLike<number>,
  types: string[],
  benignClass: number,
  count: number,
  minRows: number,
): string[] {
  const rowsOf = new Map<string, { cls: number; rows: number }>();
  for (let i = 0; i < types.length; i++) {
    if (y[i] === benignClass) continue;
    const e = rowsOf.get(types[i]) ?? { cls: y[i], rows: 0 };
    e.rows++;
    rowsOf.set(types[i], e);
  }
  const byClass = new Map<number, string[]>();
  for (
    const [t, e] of [...rowsOf].sort((a, b) => b[1].rows - a[1].rows || (a[0] < b[0] ? -1 : 1))
  ) {
    if (e.rows < minRows) continue;
    if (!byClass.has(e.cls)) byClass.set(e.cls, []);
    byClass.get(e.cls)!.push(t);
  }
  const queues = [...byClass.values()];
  const out: string[] = [];
  for (let round = 0; out.length < count && queues.some((q) => q.length > round); round++) {
    for (const q of queues) if (q.length > round && out.length < count) out.push(q[round]);
  }
  return out;
}

/** Evenly spaced sample of at most `max` indices. */
function spaced(indices: number[], max: number): number[] {
  if (indices.length <= max) return indices;
  return Array.from({ length: max }, (_, i) => indices[Math.floor((i * indices.length) / max)]);
}

function memberZ(calibrations: MemberCalibration[], scores: Float32Array[]): Float32Array[] {
  return calibrations.map((c, m) => surprise(c, scores[m]));
}

/**
 * Learns the ensemble weights by leave-one-attack-type-out on the training
 * rows: `members[m]` is `families[m]` trained on `fit` with `params[m]`;
 * `fitTypes` / `validationTypes` give each row's attack type.
 */
export function leaveTypeOutWeights(
  families: Family[],
  params: Record<string, number>[],
  members: TrainedMember[],
  fit: Dataset,
  fitTypes: string[],
  validation: Dataset,
  validationTypes: string[],
  options: LeaveTypeOutOptions,
): LeaveTypeOutWeights {
  const o = options;
  const progress = o.progress ?? (() => {});
  const valAttack = attackFlags(validation);
  const benignIdx: number[] = [];
  const attackIdx: number[] = [];
  for (let i = 0; i < validation.rows; i++) (valAttack[i] ? attackIdx : benignIdx).push(i);
  const valBenign = selectRows(validation, benignIdx);
  const scoreAll = (ms: TrainedMember[], d: Dataset) => ms.map((m) => m.score(d.x, d.rows));
  const calibrate = (ms: TrainedMember[], benignScores: Float32Array[]) =>
    ms.map((m, k) => calibrateMember(m.family, benignScores[k]));

  const fullBenign = scoreAll(members, valBenign);
  const fullCalibration = calibrate(members, fullBenign);
  const known = selectRows(validation, spaced(attackIdx, o.maxRows * 2));
  const groups: WeightGroup[] = [{
    name: "known",
    benign: memberZ(fullCalibration, fullBenign),
    attack: memberZ(fullCalibration, scoreAll(members, known)),
  }];

  const heldOut = typesToHoldOut(
    [...fit.y, ...validation.y],
    [...fitTypes, ...validationTypes],
    fit.benignClass,
    o.types,
    o.minRows,
  );
  heldOut.forEach((type, t) => {
    const keep: number[] = [];
    const typeFit: number[] = [];
    for (let i = 0; i < fit.rows; i++) (fitTypes[i] === type ? typeFit : keep).push(i);
    const typeVal = validationTypes.flatMap((v, i) => (v === type ? [i] : []));
    const without = selectRows(fit, keep);
    const variants = families.map((family, m) => {
      if (family.kind === "anomaly") return members[m];
      return family.train(
        without,
        params[m],
        o.seed,
        (done, total) =>
          progress(`leave ${type} out (${t + 1}/${heldOut.length}) ${family.name}`, done, total),
      );
    });
    const benignScores = scoreAll(variants, valBenign);
    const calibration = calibrate(variants, benignScores);
    // Its rows from both splits: none of them trained the variants.
    const sampleFit = spaced(typeFit, o.maxRows);
    const sampleVal = spaced(typeVal, Math.max(0, o.maxRows - sampleFit.length));
    const fitRows = selectRows(fit, sampleFit);
    const valRows = selectRows(validation, sampleVal);
    const attack = variants.map((v, m) => {
      const a = v.score(fitRows.x, fitRows.rows);
      const b = v.score(valRows.x, valRows.rows);
      const both = new Float32Array(a.length + b.length);
      both.set(a);
      both.set(b, a.length);
      return surprise(calibration[m], both);
    });
    groups.push({ name: type, benign: memberZ(calibration, benignScores), attack });
  });

  const learned = learnNoveltyWeights(groups, o.targetFpr);
  const memberDetection: Record<string, number[]> = {};
  for (const g of groups) {
    memberDetection[g.name] = members.map((_, m) =>
      groupDetection([g], members.map((_, k) => (k === m ? 1 : 0)), o.targetFpr)[0]
    );
  }
  return { ...learned, heldOutTypes: heldOut, memberDetection };
}
