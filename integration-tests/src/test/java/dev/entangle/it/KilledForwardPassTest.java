package dev.entangle.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.bench.SyntheticLlama;
import dev.entangle.cli.Uploader;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.profile.CheckpointProfiler;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.safetensors.DType;
import dev.entangle.it.kit.Replica;
import dev.entangle.it.kit.StackKit;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunState;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.stack.Component;
import dev.entangle.store.ForwardProbe;
import dev.entangle.store.Layout;
import dev.entangle.store.S3ObjectStore;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A profiler killed (SIGKILL) in the middle of a checkpoint's forward pass, after its first
 * layer's captures and before the record that names them, loses nothing and duplicates
 * nothing: the next profiler on the same work folder removes the dead pass's folder, runs the
 * pass again, writes one record, and every attention and XXᵀ profile equals the offline one.
 */
@ExtendWith(SharedStack.class)
class KilledForwardPassTest {

    /** Four decoder layers of width 1024 at T = 1024: a pass of some seconds, in which the kill lands. */
    static final SyntheticLlama.Shape SHAPE = new SyntheticLlama.Shape("synthetic-forward", 4, 1024, 8, 2);
    static final SyntheticLlama.Body BODY = new SyntheticLlama.Body(2816, 1024);
    static final String BASE = "synthetic-forward-base", RUN = "killed-forward";
    static final String WORK_DIR = "ENTANGLE_PROFILER_WORK_DIR";

    @TempDir
    Path tmp;

    @Test
    void aProfilerKilledMidForwardLosesNothing() throws Exception {
        StackKit stack = SharedStack.stack();
        S3ObjectStore s3 = SharedStack.s3();
        Path base = tmp.resolve("base"), lora = tmp.resolve("out/checkpoint-100"), work = tmp.resolve("profiler-work");
        SyntheticLlama.writeWholeModel(base, SHAPE, BODY, DType.BF16, 41);
        SyntheticLlama.writeLora(lora, SHAPE, 8, 16, DType.F32, 42);
        int[] ids = new SplittableRandom(43).ints(1024, 0, BODY.vocab()).toArray();
        ProbeTokens tokens = new ProbeTokens(ids, tmp.resolve("tokens.json"), null);

        // one profiler, whose work folder the test watches
        stack.stop(Component.PROFILER, Duration.ofSeconds(30));
        Replica first = stack.startReplica(Component.PROFILER, "profiler-forward-1", Map.of(WORK_DIR, work.toString()));
        Replica second = null;
        ManagedChannel ingest = SharedStack.channel(Component.INGEST), query = SharedStack.channel(Component.QUERY);
        try {
            first.awaitReady(System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
            UploadHeader.Builder h = UploadHeader.newBuilder().setBaseModelName(BASE);
            for (int id : ids) h.addProbeTokens(id);
            Uploader.upload(ingest, base, h.build(), p -> { });
            String id = Uploader.upload(ingest, lora, UploadHeader.newBuilder().setRun(RUN).setBaseId(BASE).build(), p -> { }).getCheckpointId();
            String record = Layout.forwardProbe(id, tokens.setId());

            // killed once the pass has written its first layer's captures
            Path scratch = work.resolve("scratch");
            Path pass = Waits.until("the forward pass has captured layer 0", Duration.ofSeconds(180),
                    () -> passWithFirstLayer(scratch), p -> p != null);
            first.kill();
            assertFalse(s3.exists(record), "the pass was killed before its record: make the model larger if it finished first");
            assertTrue(Files.isDirectory(pass), "the killed pass left its folder " + pass);

            // the next profiler, on the same work folder, finishes the checkpoint
            second = stack.startReplica(Component.PROFILER, "profiler-forward-2", Map.of(WORK_DIR, work.toString()));
            second.awaitReady(System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
            QueryGrpc.QueryBlockingStub q = QueryGrpc.newBlockingStub(query);
            RunSummary s = Waits.until(RUN + " complete after the kill", Duration.ofSeconds(300),
                    () -> q.listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream().filter(x -> x.getRun().equals(RUN)).findFirst().orElse(null),
                    x -> x != null && x.getState() == RunState.COMPLETE);
            assertEquals(s.getUnitsTotal(), s.getUnitsDone(), s.toString());
            FaultsTest.assertUnitsExactlyOnce(id, s.getUnitsTotal(), Duration.ofSeconds(60));

            // one record, naming blobs that are there; nothing else under the pass's prefix
            String prefix = record.substring(0, record.lastIndexOf("/forward/") + "/forward/".length());
            assertEquals(List.of(record), s3.list(prefix), "one record of the pass");
            ForwardProbe made = ForwardProbe.fromJson(s3.read(record).orElseThrow());
            assertEquals(ids.length, made.tokens());
            for (var b : made.tensors().values()) assertTrue(s3.exists(b.key()), b.key() + " named by the record is stored");
            assertFalse(Files.exists(pass), "the dead pass's folder was removed");
            assertEquals(null, passWithFirstLayer(scratch), "no pass folder is left behind");

            // nothing lost: every attention and XXᵀ profile as the offline forward pass gives it
            ObjectNode offline = new CheckpointProfiler(ProfileCalculator.fromEnvironment())
                    .profile(new CheckpointProfiler.Request(lora, base, null, null, null, false, tokens));
            int checked = 0;
            for (String group : List.of("attention", "outputs")) {
                for (var e : offline.get(group).properties()) {
                    Profile p = q.getProfile(GetProfileRequest.newBuilder().setRun(RUN).setTarget(e.getKey()).build()).getProfile();
                    JsonNode want = e.getValue().get("profile");
                    assertEquals(want.size(), p.getCutsCount(), e.getKey());
                    for (int i = 0; i < p.getCutsCount(); i++) {
                        CutProfile c = p.getCuts(i);
                        assertEquals(want.get(i).get("S").doubleValue(), c.getEntropy(), 1e-6, e.getKey() + " cut " + c.getCut());
                    }
                    checked++;
                }
            }
            assertEquals(SHAPE.layers() * (SHAPE.heads() + 1), checked, "every head and XXᵀ of every layer");
        } finally {
            ingest.shutdownNow();
            query.shutdownNow();
            first.kill();
            if (second != null) second.stop(Duration.ofSeconds(20));
            // leave the stack as the other tests expect it: its own profiler
            if (!stack.running(Component.PROFILER)) {
                stack.start(Component.PROFILER);
                stack.awaitReady(Component.PROFILER, System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
            }
        }
    }

    /** The pass folder under the work folder's scratch that holds layer 0's captures, or null. */
    static Path passWithFirstLayer(Path scratch) throws IOException {
        if (!Files.isDirectory(scratch)) return null;
        try (var entries = Files.list(scratch)) {
            return entries.filter(p -> p.getFileName().toString().startsWith("forward-") && Files.exists(p.resolve("layers.0.safetensors")))
                    .findFirst().orElse(null);
        }
    }
}
