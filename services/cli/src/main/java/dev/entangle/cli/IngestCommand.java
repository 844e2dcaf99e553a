package dev.entangle.cli;

import dev.entangle.core.model.ProbeTokens;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

@Command(name = "ingest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Upload a checkpoint folder to the ingest service (gRPC streaming), or register a base model.",
                "The folder is checked locally first; only the weights, their configs and the trainer's reports travel",
                "(pickles such as optimizer.pt are never opened nor sent). As HF Trainer writes PATH/RUN/checkpoint-N,",
                "the run is RUN and the step trainer_state.json's global_step (else N), unless given."})
final class IngestCommand implements java.util.concurrent.Callable<Integer> {

    @Parameters(index = "0", paramLabel = "CHECKPOINT_DIR")
    Path dir;

    @Option(names = "--run", paramLabel = "NAME",
            description = "Run name (default: trainer_event.json, else the folder above checkpoint-N).")
    String run;

    @Option(names = "--step", paramLabel = "N",
            description = "Training step (default: trainer_event.json, else trainer_state.json's global_step, else checkpoint-N).")
    Long step;

    @Option(names = "--base", paramLabel = "BASE_ID", description = "Registered base model: needed by full fine-tuning and DoRA checkpoints; "
            + "an adapter names it for its forward pass (default: its adapter_config.json's base_model_name_or_path, where registered).")
    String base;

    @Option(names = "--base-model", paramLabel = "NAME", description = "Register DIR as a base model under NAME (every tensor, stored once).")
    String baseModel;

    /** With --base-model: a probe set, on which checkpoints on this base without a probe of their own run forward. */
    @Mixin
    ProbeSequence sequence;

    @Mixin
    Endpoints.IngestOption ingestAt;

    @Mixin
    Errors.VerboseOption verbosity;

    @Spec
    CommandSpec spec;

    /** The base's probe sequence, checked before anything is sent; null for none. */
    private ProbeTokens probeTokens() {
        if (sequence.given() && baseModel == null) {
            throw new IllegalArgumentException("--probe-tokens / --probe-text register a probe set with a base model: give --base-model NAME");
        }
        return sequence.read(() -> dir);
    }

    @Override
    public Integer call() throws Exception {
        ManagedChannel channel = Endpoints.channel(ingestAt.endpoint);
        PrintWriter err = spec.commandLine().getErr();
        try {
            UploadHeader.Builder h = UploadHeader.newBuilder();
            if (run != null) h.setRun(run);
            if (step != null) h.setStep(step);
            if (base != null) h.setBaseId(base);
            if (baseModel != null) h.setBaseModelName(baseModel);
            ProbeTokens tokens = probeTokens();
            if (tokens != null) {
                for (int id : tokens.ids()) h.addProbeTokens(id);
                err.println("  probe set " + tokens.setId() + ": T = " + tokens.length() + " tokens from " + tokens.origin());
                tokens.fewSitesWarning().ifPresent(w -> err.println("  warning: " + w));
                err.flush();
            }
            Uploader.picklesNote(dir).ifPresent(n -> {
                err.println("  " + n);
                err.flush();
            });
            AtomicLong lastShown = new AtomicLong();
            IngestResult r = Uploader.upload(channel, dir, h.build(), p -> {
                if (p.getBytesReceived() > lastShown.get()) {
                    lastShown.set(p.getBytesReceived());
                    err.printf(Locale.ROOT, "  %s %.1f MB (%s)%n", p.getStage(), p.getBytesReceived() / 1e6, p.getFile());
                    err.flush();
                }
            });
            r.getNotesList().forEach(n -> err.println("  " + n));
            err.flush();
            spec.commandLine().getOut().println(com.google.protobuf.util.JsonFormat.printer().print(r));
            spec.commandLine().getOut().flush();
            return 0;
        } catch (StatusRuntimeException s) {
            throw Errors.remote(ingestAt.endpoint, s);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
