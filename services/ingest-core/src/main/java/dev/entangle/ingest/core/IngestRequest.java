package dev.entangle.ingest.core;

/**
 * What the uploader says about a checkpoint. Fields left null are taken from the checkpoint's
 * trainer_event.json (run, step, learning rate, losses) or its folder name ("checkpoint-N").
 *
 * @param run          run name (required here or in trainer_event.json)
 * @param step         training step
 * @param baseId       registered base model an FFT checkpoint is measured against
 * @param learningRate reported learning rate
 * @param trainLoss    reported train loss
 * @param testLoss     reported test loss
 * @param tenant       the uploading tenant when tenancy is on (it owns the run), else null
 */
public record IngestRequest(String run, Long step, String baseId, Double learningRate, Double trainLoss, Double testLoss,
                            String tenant) {

    public static IngestRequest of(String run, Long step, String baseId) {
        return new IngestRequest(run, step, baseId, null, null, null, null);
    }

    public IngestRequest withTenant(String t) {
        return new IngestRequest(run, step, baseId, learningRate, trainLoss, testLoss, t);
    }
}
