/**
 * `train --models LIST`: trains the listed families and writes one bundle
 * the sensor runs unchanged. The rows are split (stratified) into training,
 * validation and evaluation; each family (optionally tuned on the
 * validation split) trains on the training rows; the first classifier in the
 * list becomes the bundle's known-attack classifier; every member becomes
 * part of the ensemble (calibrated on the validation rows, weighted by
 * leave-one-attack-type-out inside the training rows, one ONNX graph), the bundle's anomaly model, with its threshold at the target
 * false-alert rate. Every graph is checked against TypeScript on the
 * evaluation rows, which also give the reported figures.
 */
import { writeBundle } from "../../inference/mod.ts";
import { strongThresholdForFpr } from "../anomaly/mod.ts";
import { classCounts, type Dataset, selectRows, stratifiedSplit } from "../dataset.ts";
import { DEEP_INPUT_NAME } from "../deep/mod.ts";
import {
  applyEnsemble,
  ENSEMBLE_OUTPUTS,
  ensembleScore,
  ensembleScoreThreshold,
  ensembleToOnnx,
  fitEnsemble,
  surprise,
  type VotingMode,
} from "../ensemble/mod.ts";
import { argmaxRows, classificationReport } from "../metrics.ts";
import type { CategoricalVocabulary } from "../nsl_kdd.ts";
import { runOnnxModel } from "../onnx/mod.ts";
import type { ProgressReporter } from "../progress.ts";
import { Random } from "../random.ts";
import {
  assembleBundleJson,
  maxAbsDiff,
  type ModelPart,
  type StageContext,
  TRAINER_VERSION,
} from "../stages/mod.ts";
import { attackFlags, type Family, type TrainedMember, tuneFamily } from "./families.ts";
import { DEFAULT_LEAVE_TYPE_OUT, leaveTypeOutWeights } from "./leave_type_out.ts";

/** Options of {@link trainFamilyBundle}. */
export interface FamilyBundleOptions {
  families: Family[];
  outDir: string;
  featureSet: { name: string; version: string | number };
  dataSource: string;
  seed: number;
  targetFpr: number;
  /** TPE trials per family (0: defaults). */
  tune: number;
  voting: VotingMode;
  proportion: number;
  /** Fraction of all rows held out for the reported figures. */
  evaluationFraction: number;
  /** Fraction of the training rows that calibrate and weigh the ensemble. */
  validationFraction: number;
  vocabularies?: CategoricalVocabulary[];
  /** Attack type of every row (default: its class name); types are held out to learn weights. */
  attackType?: string[];
  /** Attack types held out in turn to learn the ensemble's weights (0: logistic regression). */
  innerTypes?: number;
  progress?: ProgressReporter;
}

/** Per member, what it measured on the evaluation rows. */
export interface MemberSummary {
  family: string;
  seconds: number;
  /** Largest |ONNX - TypeScript| of its output on the evaluation rows. */
  onnxMaxAbsDiff: number;
  hyperparameters: Record<string, number>;
  weight?: number;
}

/** What {@link trainFamilyBundle} did, for the CLI summary. */
export interface FamilyBundleSummary {
  bundleDir: string;
  members: MemberSummary[];
  classifier?: { family: string; macroF1: number; accuracy: number };
  ensemble?: {
    mode: VotingMode;
    heldOutBenignFpr: number;
    detectionRate: number;
    /** Evaluation rows whose ONNX alert differs from TypeScript's. */
    onnxAlertMismatches: number;
    rows: number;
    /** Attack types held out of the members' training to learn the weights (none: logistic). */
    weightsHeldOutTypes: string[];
  };
}

/** Trains the families, the ensemble, and writes the bundle to `options.outDir`. */
export async function trainFamilyBundle(
  d: Dataset,
  options: FamilyBundleOptions,
): Promise<FamilyBundleSummary> {
  const o = options;
  const progress = o.progress ?? (() => {});
  const context: StageContext = {
    dataSource: o.dataSource,
    date: new Date().toISOString(),
    progress,
  };
  const rng = new Random(o.seed);
  const outer = stratifiedSplit(d.y, o.evaluationFraction, rng);
  const trainAll = selectRows(d, outer.train);
  const evaluation = selectRows(d, outer.heldOut);
  const inner = stratifiedSplit(trainAll.y, o.validationFraction, rng.fork());
  const fit = selectRows(trainAll, inner.train);
  const validation = selectRows(trainAll, inner.heldOut);
  const typeOf = (i: number) => o.attackType?.[i] ?? d.classNames[d.y[i]];
  if (o.attackType && o.attackType.length !== d.rows) {
    throw new Error(`attack types for ${o.attackType.length} rows, dataset has ${d.rows}`);
  }
  const fitTypes = Array.from(inner.train, (j) => typeOf(outer.train[j]));
  const validationTypes = Array.from(inner.heldOut, (j) => typeOf(outer.train[j]));
  const members: TrainedMember[] = [];
  const memberParams: Record<string, number>[] = [];
  const summaries: MemberSummary[] = [];
  for (const family of o.families) {
    let params: Record<string, number> = {};
    if (o.tune > 0) {
      const best = await tuneFamily(
        family,
        fit,
        validation,
        { trials: o.tune, seed: o.seed, targetFpr: o.targetFpr },
        (t) => progress(`tune ${family.name}`, t.number + 1, o.tune),
      );
      params = best.params;
    }
    const member = family.train(
      fit,
      params,
      o.seed,
      (done, total) => progress(`train ${family.name}`, done, total),
    );
    const out = await runOnnxModel(
      member.onnx,
      DEEP_INPUT_NAME,
      evaluation.x,
      evaluation.rows,
      d.cols,
    );
    const expected = member.probabilities
      ? member.probabilities(evaluation.x, evaluation.rows)
      : member.score(evaluation.x, evaluation.rows);
    const diff = maxAbsDiff(out[member.output].data as Float32Array, expected);
    members.push(member);
    memberParams.push(params);
    summaries.push({
      family: family.name,
      seconds: member.seconds,
      onnxMaxAbsDiff: diff,
      hyperparameters: member.hyperparameters,
    });
  }
  const parts: ModelPart[] = [];
  const summary: FamilyBundleSummary = { bundleDir: o.outDir, members: summaries };
  const classifierIndex = members.findIndex((m) => m.kind === "classifier");
  if (classifierIndex >= 0) {
    const member = members[classifierIndex];
    const p = member.probabilities!(evaluation.x, evaluation.rows);
    const report = classificationReport(
      evaluation.y,
      argmaxRows(p, evaluation.rows, d.classNames.length),
      d.classNames,
      d.benignClass,
    );
    summary.classifier = {
      family: member.family,
      macroF1: report.macroF1,
      accuracy: report.accuracy,
    };
    parts.push({
      onnx: member.onnx,
      entry: {
        role: "classifier",
        name: `${member.family}-classifier`,
        file: "classifier.onnx",
        inputName: DEEP_INPUT_NAME,
        outputs: { probabilities: member.output },
        classNames: d.classNames,
        benignClass: d.benignClass >= 0 ? d.classNames[d.benignClass] : null,
        classThresholds: d.classNames.map(() => 0.5),
        training: {
          dataSource: o.dataSource,
          rows: fit.rows,
          classCounts: classCounts(fit),
          hyperparameters: { family: member.family, ...member.hyperparameters },
          metrics: { heldOutRows: evaluation.rows, ...report },
          date: context.date,
          tool: TRAINER_VERSION,
          seconds: member.seconds,
          onnxAgreement: {
            rows: evaluation.rows,
            maxAbsDiffProbabilities: summaries[classifierIndex].onnxMaxAbsDiff,
          },
        },
      },
    });
  }
  const ensembleWanted = members.some((m) => m.kind === "anomaly") || members.length >= 2;
  if (ensembleWanted) {
    if (d.benignClass < 0) throw new Error("the ensemble needs a benign class to calibrate on");
    const names = members.map((m) => m.family);
    const valAttack = attackFlags(validation);
    const valScores = members.map((m) => m.score(validation.x, validation.rows));
    const innerTypes = o.innerTypes ?? DEFAULT_LEAVE_TYPE_OUT.types;
    const typeOut = innerTypes > 0 && members.length >= 2
      ? leaveTypeOutWeights(
        o.families,
        memberParams,
        members,
        fit,
        fitTypes,
        validation,
        validationTypes,
        {
          ...DEFAULT_LEAVE_TYPE_OUT,
          types: innerTypes,
          targetFpr: o.targetFpr,
          seed: o.seed,
          progress,
        },
      )
      : undefined;
    // No attack type with enough rows to hold out: the logistic regression on validation rows.
    const weighting = typeOut && typeOut.heldOutTypes.length > 0 ? typeOut : undefined;
    const e = fitEnsemble(names, valScores, valAttack, {
      mode: o.voting,
      proportion: o.proportion,
      targetFpr: o.targetFpr,
      weights: weighting?.weights,
    });
    e.weights.forEach((w, m) => (summaries[m].weight = w));
    const graphs = members.map((m) => ({
      onnx: m.onnx,
      output: m.output,
      benignColumn: m.kind === "classifier" ? d.benignClass : undefined,
    }));
    const onnx = ensembleToOnnx(e, graphs, DEEP_INPUT_NAME, d.cols);
    const threshold = ensembleScoreThreshold(e);
    // Measured on the evaluation rows; ONNX alerts compared with TypeScript's.
    const evalScores = members.map((m) => m.score(evaluation.x, evaluation.rows));
    const decision = applyEnsemble(e, evalScores);
    const out = await runOnnxModel(onnx, DEEP_INPUT_NAME, evaluation.x, evaluation.rows, d.cols);
    const onnxScore = out[ENSEMBLE_OUTPUTS.score].data as Float32Array;
    let mismatches = 0;
    for (let i = 0; i < evaluation.rows; i++) {
      if ((onnxScore[i] > threshold ? 1 : 0) !== decision.alert[i]) mismatches++;
    }
    const evalAttack = attackFlags(evaluation);
    let benign = 0;
    let benignAlerts = 0;
    let attacks = 0;
    let detected = 0;
    for (let i = 0; i < evaluation.rows; i++) {
      if (evalAttack[i]) {
        attacks++;
        detected += decision.alert[i];
      } else {
        benign++;
        benignAlerts += decision.alert[i];
      }
    }
    summary.ensemble = {
      mode: o.voting,
      heldOutBenignFpr: benignAlerts / Math.max(1, benign),
      detectionRate: detected / Math.max(1, attacks),
      onnxAlertMismatches: mismatches,
      rows: evaluation.rows,
      weightsHeldOutTypes: weighting?.heldOutTypes ?? [],
    };
    const valBenign = valScores.map((s) => s.filter((_, i) => !valAttack[i]));
    const benignEnsembleScores = ensembleScore(
      e,
      e.members.map((c, m) => surprise(c, valBenign[m])),
    );
    const strong = strongThresholdForFpr(benignEnsembleScores, o.targetFpr);
    parts.push({
      onnx,
      entry: {
        role: "anomaly",
        name: `ensemble-${o.voting}`,
        file: "ensemble.onnx",
        inputName: DEEP_INPUT_NAME,
        outputs: { score: ENSEMBLE_OUTPUTS.score },
        threshold,
        targetFpr: o.targetFpr,
        calibratedFpr: e.calibratedFpr,
        strongThreshold: Math.max(strong.threshold, threshold),
        combination: `ensemble (${o.voting}) of ${names.join(", ")}: each member's score as ` +
          "-log10 of its benign tail fraction on validation rows, weights " +
          (weighting
            ? `maximising the mean detection at the target false-alert rate over the known ` +
              `attacks and each attack type held out of the members' training in turn ` +
              `(${weighting.heldOutTypes.join(", ")})`
            : "from a non-negative logistic regression on validation rows"),
        ensemble: {
          mode: o.voting,
          members: names.map((name, m) => ({ name, weight: e.weights[m] })),
          votesOutput: ENSEMBLE_OUTPUTS.votes,
          voteLevel: e.voteLevel,
          proportion: o.voting === "proportion" ? o.proportion : undefined,
        },
        training: {
          dataSource: o.dataSource,
          rows: fit.rows,
          hyperparameters: Object.fromEntries(
            members.map((m) => [m.family, m.hyperparameters]),
          ),
          metrics: {
            validationRows: validation.rows,
            heldOutRows: evaluation.rows,
            ...summary.ensemble,
            strongThreshold: strong,
            leaveTypeOut: weighting
              ? {
                heldOutTypes: weighting.heldOutTypes,
                detectionPerGroup: weighting.perGroup,
                memberDetectionPerGroup: weighting.memberDetection,
              }
              : undefined,
          },
          date: context.date,
          tool: TRAINER_VERSION,
          onnxAgreement: { rows: evaluation.rows, alertMismatches: mismatches },
        },
      },
    });
  }
  const json = assembleBundleJson(d, parts, {
    featureSet: o.featureSet,
    vocabularies: o.vocabularies,
  }, context);
  await writeBundle(o.outDir, json, parts.map((p) => p.onnx));
  return summary;
}
