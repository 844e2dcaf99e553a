package dev.entangle.profiler.service;

import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.spectrum.Engines;
import dev.entangle.core.spectrum.LinearAlgebra;
import dev.entangle.core.spectrum.OpenBlasLinearAlgebra;
import dev.entangle.profiler.BlobTensorSource;
import dev.entangle.profiler.StoredCheckpoints;
import dev.entangle.profiler.UnitWorker;
import dev.entangle.proto.events.v1.AnalysisSettings;
import dev.entangle.store.ObjectStore;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** The profiler's collaborators, built from configuration. */
@ApplicationScoped
public class Beans {

    /** Units profiled at once (the workers' bound, application.properties). */
    @ConfigProperty(name = "smallrye.messaging.worker.profile-workers.max-concurrency")
    int workers;

    @Produces
    @ApplicationScoped
    UnitWorker worker(ObjectStore store, ProfilerConfig config) {
        var dir = config.profiler().workDir();
        StoredCheckpoints checkpoints = new StoredCheckpoints(store, BlobTensorSource.onDisk(store, dir.resolve("blobs")));
        LinearAlgebra engine = Engines.named(config.profiler().engine());
        // the workers share the cores: each OpenBLAS call gets its part rather than all of them
        if (engine instanceof OpenBlasLinearAlgebra) OpenBlasLinearAlgebra.threadsPerCall(Runtime.getRuntime().availableProcessors() / workers);
        return new UnitWorker(store, checkpoints, new ProfileCalculator(engine), dir.resolve("scratch"));
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
