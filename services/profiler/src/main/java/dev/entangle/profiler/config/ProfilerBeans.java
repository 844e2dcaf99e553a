package dev.entangle.profiler.config;

import dev.entangle.core.profile.ProbeFolder;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.engine.Engines;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.engine.OpenBlasLinearAlgebra;
import dev.entangle.core.engine.cuda.CudaLinearAlgebra;
import dev.entangle.profiler.domain.BlobTensorSource;
import dev.entangle.profiler.domain.StoredCheckpoints;
import dev.entangle.profiler.domain.UnitWorker;
import dev.entangle.proto.events.v1.AnalysisSettings;
import dev.entangle.store.ObjectStore;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The profiler's collaborators, built from configuration. */
@ApplicationScoped
public class ProfilerBeans {

    private static final Logger LOG = Logger.getLogger(ProfilerBeans.class);

    /** Units profiled at once (the workers' bound, application.properties). */
    @ConfigProperty(name = "smallrye.messaging.worker.profile-workers.max-concurrency")
    int workers;

    @Produces
    @ApplicationScoped
    UnitWorker worker(ObjectStore store, ProfilerConfig config, MeterRegistry registry) {
        var dir = config.profiler().workDir();
        StoredCheckpoints checkpoints = new StoredCheckpoints(store, UnitWorker.timedFetches(BlobTensorSource.onDisk(store, dir.resolve("blobs"))));
        LinearAlgebra engine = Engines.named(config.profiler().engine());
        // The workers share the cores: each OpenBLAS call (the openblas engine's, or ND4J's on the
        // same library) gets its part rather than all of them, unless the operator set OPENBLAS_NUM_THREADS.
        if (!(engine instanceof CudaLinearAlgebra) && OpenBlasLinearAlgebra.unavailableReason() == null
                && System.getenv("OPENBLAS_NUM_THREADS") == null) {
            OpenBlasLinearAlgebra.threadsPerCall(Runtime.getRuntime().availableProcessors() / Math.max(1, workers));
        }
        // each unit's seconds per phase: entangle_profiler_phase_seconds{phase="fetch|assemble|profile|store"}
        Map<UnitWorker.Phase, Timer> phases = new EnumMap<>(UnitWorker.Phase.class);
        for (UnitWorker.Phase p : UnitWorker.Phase.values()) phases.put(p, registry.timer("entangle_profiler_phase_seconds", "phase", p.tag()));
        // a profiler killed mid-forward left its captures so far: nothing in the store names them
        var scratch = dir.resolve("scratch");
        for (var abandoned : ProbeFolder.removeAbandoned(scratch)) LOG.infof("removed %s, a forward pass whose process ended", abandoned);
        return new UnitWorker(store, checkpoints, new ProfileCalculator(engine), scratch,
                (phase, nanos) -> phases.get(phase).record(nanos, TimeUnit.NANOSECONDS));
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
