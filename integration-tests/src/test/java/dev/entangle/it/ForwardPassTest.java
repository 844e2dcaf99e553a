package dev.entangle.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.cli.Uploader;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.profile.CheckpointProfiler;
import dev.entangle.core.profile.ProbeInput;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.LayerNoHair;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.NoHairRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.RunState;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.proto.query.v1.StepSelector;
import dev.entangle.stack.Component;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real checkpoints carry no attention probe: LoRA adapters without one, on a base registered
 * with a probe set, get their attention and XXᵀ profiles from the profiler's forward pass, equal
 * to the offline {@code entangle profile --probe-tokens}; Compare on a head and the no-hair report
 * work for them, and runs measured on different probe sets are not compared.
 */
@ExtendWith(SharedStack.class)
class ForwardPassTest {

    static final String BASE = "tiny-llama-probed", SHORT_BASE = "tiny-llama-probe128";
    static final Path FIXTURE_PROBE = Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150/attention_probe.safetensors");

    @TempDir
    Path tmp;

    /** A fixture adapter as a trainer writes it: its weights and config, no probe. */
    Path withoutProbe(String run) throws Exception {
        Path from = Fixtures.root().resolve("runs/" + run + "/checkpoint-150");
        Path to = tmp.resolve("out/" + run + "/checkpoint-150");
        Files.createDirectories(to);
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) Files.copy(from.resolve(f), to.resolve(f));
        return to;
    }

    static IngestResult registerBase(ManagedChannel ingest, String name, int[] ids) throws Exception {
        UploadHeader.Builder h = UploadHeader.newBuilder().setBaseModelName(name);
        for (int id : ids) h.addProbeTokens(id);
        return Uploader.upload(ingest, Fixtures.base(), h.build(), p -> { });
    }

    @Test
    void adaptersWithoutAProbeGetAttentionFromTheirForwardPass() throws Exception {
        ManagedChannel ingest = SharedStack.channel(Component.INGEST), query = SharedStack.channel(Component.QUERY);
        try {
            ProbeTokens tokens = ProbeInput.read(FIXTURE_PROBE);
            registerBase(ingest, BASE, tokens.ids());
            registerBase(ingest, SHORT_BASE, Arrays.copyOf(tokens.ids(), 128));
            Path r16 = withoutProbe("lora-r16-a16"), r4 = withoutProbe("lora-r4-a16");
            Uploader.upload(ingest, r16, UploadHeader.newBuilder().setRun("fwd-lora-r16").setBaseId(BASE).build(), p -> { });
            Uploader.upload(ingest, r4, UploadHeader.newBuilder().setRun("fwd-lora-r4").setBaseId(BASE).build(), p -> { });
            Uploader.upload(ingest, r4, UploadHeader.newBuilder().setRun("fwd-lora-r4-t128").setBaseId(SHORT_BASE).build(), p -> { });
            QueryGrpc.QueryBlockingStub q = QueryGrpc.newBlockingStub(query);
            for (String run : List.of("fwd-lora-r16", "fwd-lora-r4", "fwd-lora-r4-t128")) {
                RunSummary s = Waits.until(run + " profiled, its forward unit included", Duration.ofSeconds(300),
                        () -> q.listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream().filter(x -> x.getRun().equals(run)).findFirst().orElse(null),
                        x -> x != null && x.getState() == RunState.COMPLETE);
                assertEquals(RunState.COMPLETE, s.getState(), s.toString());
            }

            // every head and XXᵀ as the offline forward pass gives them
            ObjectNode offline = new CheckpointProfiler(ProfileCalculator.fromEnvironment())
                    .profile(new CheckpointProfiler.Request(r16, Fixtures.base(), null, null, null, false, tokens));
            JsonNode oracle = Fixtures.oracle(Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150"));
            int checked = 0;
            for (String group : List.of("attention", "outputs")) {
                for (var e : offline.get(group).properties()) {
                    Profile p = q.getProfile(GetProfileRequest.newBuilder().setRun("fwd-lora-r16").setTarget(e.getKey()).build()).getProfile();
                    JsonNode want = e.getValue().get("profile");
                    assertEquals(want.size(), p.getCutsCount(), e.getKey());
                    for (int i = 0; i < p.getCutsCount(); i++) {
                        CutProfile c = p.getCuts(i);
                        assertEquals(want.get(i).get("S").doubleValue(), c.getEntropy(), 1e-6, e.getKey() + " cut " + c.getCut() + " vs offline");
                        assertEquals(oracle.get(group).get(e.getKey()).get("profile").get(i).get("S").doubleValue(), c.getEntropy(), 1e-4,
                                e.getKey() + " cut " + c.getCut() + " vs the oracle");
                    }
                    checked++;
                }
            }
            assertEquals(oracle.get("attention").size() + oracle.get("outputs").size(), checked);

            // compare on a head, and the no-hair report, for runs on one probe set
            CompareResponse head = q.compare(CompareRequest.newBuilder().addRuns("fwd-lora-r16").addRuns("fwd-lora-r4")
                    .setTarget("layers.1.head.3").setStep(StepSelector.newBuilder().setLatest(true)).build());
            for (RunComparison rc : head.getRunsList()) {
                assertTrue(rc.getFound() && rc.getStep() == 150, rc.toString());
                assertTrue(rc.getCardyCharge() > 0 && rc.getCardyCharge() < 1, rc.getRun() + " charge " + rc.getCardyCharge());
            }
            List<LayerNoHair> layers = q.noHair(NoHairRequest.newBuilder().addRuns("fwd-lora-r16").addRuns("fwd-lora-r4").build()).getLayersList();
            assertEquals(2, layers.size(), layers.toString());
            for (LayerNoHair l : layers) assertTrue(Double.isFinite(l.getExternalSpread()) && Double.isFinite(l.getRatio()), l.toString());

            // another probe set (its first 128 tokens): not comparable
            StatusRuntimeException mixed = assertThrows(StatusRuntimeException.class, () -> q.compare(CompareRequest.newBuilder()
                    .addRuns("fwd-lora-r16").addRuns("fwd-lora-r4-t128").setTarget("layers.1.head.3").build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, mixed.getStatus().getCode());
            assertTrue(mixed.getStatus().getDescription().contains("different probe sequences")
                    && mixed.getStatus().getDescription().contains("T = 128"), mixed.getStatus().getDescription());
            assertThrows(StatusRuntimeException.class, () -> q.noHair(NoHairRequest.newBuilder()
                    .addRuns("fwd-lora-r16").addRuns("fwd-lora-r4-t128").build()));
        } finally {
            ingest.shutdownNow();
            query.shutdownNow();
        }
    }
}
