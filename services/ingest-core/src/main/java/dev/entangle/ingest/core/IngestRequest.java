package dev.entangle.ingest.core;

/**
 * What the caller says about a checkpoint. Fields left null are taken from the checkpoint's own
 * reports and names, by the one rule of {@link TrainerReport}.
 *
 * @param run          run name
 * @param step         training step
 * @param baseId       registered base model an FFT or DoRA checkpoint is measured against
 * @param learningRate reported learning rate
 * @param trainLoss    reported train loss
 * @param testLoss     reported test loss
 * @param tenant       the uploading tenant when tenancy is on (it owns the run), else null
 * @param source       how the user names the folder (refusals show it; run and step may come from
 *                     its names); null: the folder ingested is the user's own
 */
public record IngestRequest(String run, Long step, String baseId, Double learningRate, Double trainLoss, Double testLoss,
                            String tenant, CheckpointSource source) {

    public static IngestRequest of(String run, Long step, String baseId) {
        return new IngestRequest(run, step, baseId, null, null, null, null, null);
    }

    public IngestRequest withTenant(String t) {
        return new IngestRequest(run, step, baseId, learningRate, trainLoss, testLoss, t, source);
    }

    public IngestRequest withSource(CheckpointSource s) {
        return new IngestRequest(run, step, baseId, learningRate, trainLoss, testLoss, tenant, s);
    }
}
