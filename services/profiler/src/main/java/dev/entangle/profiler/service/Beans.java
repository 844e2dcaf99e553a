package dev.entangle.profiler.service;

import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.spectrum.Engines;
import dev.entangle.profiler.BlobTensorSource;
import dev.entangle.profiler.StoredCheckpoints;
import dev.entangle.profiler.UnitWorker;
import dev.entangle.proto.events.v1.AnalysisSettings;
import dev.entangle.store.ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The profiler's collaborators, built from configuration. */
@ApplicationScoped
public class Beans {

    @Produces
    @ApplicationScoped
    UnitWorker worker(ObjectStore store, ProfilerConfig config) {
        var dir = config.profiler().workDir();
        StoredCheckpoints checkpoints = new StoredCheckpoints(store, BlobTensorSource.onDisk(store, dir.resolve("blobs")));
        return new UnitWorker(store, checkpoints, new ProfileCalculator(Engines.named(config.profiler().engine())), dir.resolve("scratch"));
    }

    @Produces
    @ApplicationScoped
    AnalysisSettings settings(ProfilerConfig config) {
        ProfilerConfig.Profiler p = config.profiler();
        AnalysisSettings.Builder b = AnalysisSettings.newBuilder().addAllRenyi(p.renyi()).setSpectra(p.spectra()).setUnmasked(p.unmasked());
        p.chiMax().ifPresent(b::setChiMax);
        return b.build();
    }
}
