package dev.entangle.query;

import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Metrics;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.NoHairRequest;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.StepSelector;
import dev.entangle.proto.query.v1.SweepAxis;
import dev.entangle.proto.query.v1.SweepPoint;
import dev.entangle.proto.query.v1.SweepRequest;
import dev.entangle.proto.query.v1.TimelineRequest;
import dev.entangle.proto.query.v1.WatchRunRequest;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunSummary;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.reactive.messaging.memory.InMemoryConnector;
import jakarta.enterprise.inject.Any;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The query service starts with its real configuration (a mapping error fails here, not first in
 * the stack tests) and, with tenancy on, answers each tenant about its own runs only (another
 * tenant's run is unknown to it). Results
 * arrive on the in-memory stand-in of the results topic.
 */
@QuarkusTest
@TestProfile(QueryServiceTest.Tenancy.class)
class QueryServiceTest {

    public static class Tenancy implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> c = new HashMap<>(InMemoryConnector.switchIncomingChannelsToInMemory(Topics.PROFILES_COMPUTED));
            c.put("entangle.auth.tenant-header", "x-entangle-tenant");
            return c;
        }
    }

    @Inject
    @Any
    InMemoryConnector connector;

    @TestHTTPResource
    URL url;

    ManagedChannel channel;

    @BeforeEach
    void open() {
        channel = ManagedChannelBuilder.forAddress(url.getHost(), url.getPort()).usePlaintext().build();
    }

    @AfterEach
    void close() {
        channel.shutdownNow();
        InMemoryConnector.clear();
    }

    QueryGrpc.QueryBlockingStub as(String tenant) {
        Metadata h = new Metadata();
        if (tenant != null) h.put(Metadata.Key.of("x-entangle-tenant", Metadata.ASCII_STRING_MARSHALLER), tenant);
        return QueryGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
    }

    static ProfileComputed result(String run, String tenant) {
        return ProfileComputed.newBuilder().setCheckpointId("c-" + run).setRun(run).setStep(1).setMethod(Method.LORA)
                .setKind(UnitKind.DELTA).setTarget("layers.0.q_proj").setUnitIndex(0).setUnitCount(1).setTenant(tenant)
                .addProfiles(Profile.newBuilder().setName("layers.0.q_proj").addShape(4).addShape(4).addSites(2).addSites(2).addSites(2).addSites(2)
                        .setRowColumnCut(2).addCuts(CutProfile.newBuilder().setCut(1).setDLeft(2).setDRight(8).setEntropy(0.5)))
                .build();
    }

    @Test
    void eachTenantSeesItsOwnRuns() throws Exception {
        var source = connector.source(Topics.PROFILES_COMPUTED);
        source.send(result("acme-run", "acme").toByteArray());
        source.send(result("globex-run", "globex").toByteArray());

        List<String> acme = awaitRuns("acme", 1);
        assertEquals(List.of("acme-run"), acme);
        assertEquals(List.of("globex-run"), awaitRuns("globex", 1));
        assertEquals(0.5, as("acme").getProfile(GetProfileRequest.newBuilder().setRun("acme-run").setTarget("layers.0.q_proj").build())
                .getProfile().getCuts(0).getEntropy(), 0);

        StatusRuntimeException denied = assertThrows(StatusRuntimeException.class,
                () -> as("globex").getProfile(GetProfileRequest.newBuilder().setRun("acme-run").setTarget("layers.0.q_proj").build()));
        assertEquals(Status.Code.NOT_FOUND, denied.getStatus().getCode(), "another tenant's run answers as unknown");
        // every RPC that names a run: another tenant's run is unknown
        var g = as("globex");
        List<org.junit.jupiter.api.function.Executable> reads = List.of(
                () -> g.compare(CompareRequest.newBuilder().addRuns("acme-run").setTarget("layers.0.q_proj").build()),
                () -> g.noHair(NoHairRequest.newBuilder().addRuns("acme-run").addRuns("globex-run").build()),
                () -> g.timeline(TimelineRequest.newBuilder().setRun("acme-run").setTarget("layers.0.q_proj").setMetric(Metric.MID_S).build()),
                () -> g.sweep(SweepRequest.newBuilder().addRuns("acme-run").setTarget("layers.0.q_proj").setBy(SweepAxis.R).build()),
                () -> g.watchRun(WatchRunRequest.newBuilder().setRun("acme-run").build()).hasNext());
        for (var read : reads) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, read);
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.getStatus().toString());
        }
        assertEquals(1, as("acme").compare(CompareRequest.newBuilder().addRuns("acme-run").setTarget("layers.0.q_proj").build()).getRunsCount());
        StatusRuntimeException anonymous = assertThrows(StatusRuntimeException.class, () -> as(null).listRuns(ListRunsRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode());
        StatusRuntimeException badName = assertThrows(StatusRuntimeException.class, () -> as("../etc").listRuns(ListRunsRequest.getDefaultInstance()));
        assertEquals(Status.Code.INVALID_ARGUMENT, badName.getStatus().getCode());
    }

    /** A ΔW result of layers.0.q_proj (8 × 8, six sites, row/column cut 3) with the given S per cut and run fields. */
    static ProfileComputed result(String run, long step, double alpha, double testLoss, double trainLoss, double... s) {
        Profile.Builder p = Profile.newBuilder().setName("layers.0.q_proj").addShape(8).addShape(8).setRowColumnCut(3);
        for (int i = 0; i < 6; i++) p.addSites(2);
        for (int i = 0; i < s.length; i++) {
            long dl = 1L << (i + 1);
            p.addCuts(CutProfile.newBuilder().setCut(i + 1).setDLeft(dl).setDRight(64 / dl).setEntropy(s[i])
                    .setNormalised(s[i] / Math.log(Math.min(dl, 64 / dl))));
        }
        return ProfileComputed.newBuilder().setCheckpointId("c-" + run + "-" + step).setRun(run).setStep(step).setMethod(Method.LORA)
                .setKind(UnitKind.DELTA).setTarget("layers.0.q_proj").setUnitIndex(0).setUnitCount(1).setTenant("initech")
                .setHyper(Hyperparameters.newBuilder().setR(4).setLoraAlpha(alpha).setLearningRate(1e-4))
                .setMetrics(Metrics.newBuilder().setTestLoss(testLoss).setTrainLoss(trainLoss))
                .addProfiles(p).build();
    }

    /** Timeline and Sweep answer with the runs' own numbers: profile metrics per step, the trainer's losses, the hyper-parameter. */
    @Test
    void timelineAndSweepCarryTheRunsValues() {
        var source = connector.source(Topics.PROFILES_COMPUTED);
        source.send(result("initech-alpha8", 10, 8, 2.5, 3.0, 0.6, 1.2, 0.9, 1.3, 0.6).toByteArray());
        source.send(result("initech-alpha8", 20, 8, 2.0, 2.2, 0.7, 1.4, 1.0, 1.5, 0.7).toByteArray());
        source.send(result("initech-alpha16", 20, 16, 1.8, 2.1, 0.8, 1.6, 1.5, 1.7, 0.8).toByteArray());
        await("initech sees both sweep runs").atMost(Duration.ofSeconds(10)).until(() -> as("initech").listRuns(ListRunsRequest.getDefaultInstance())
                .getRunsList().stream().filter(r -> r.getRun().startsWith("initech-alpha")).mapToInt(r -> r.getStepsCount()).sum() == 3);
        var q = as("initech");   // its own tenant: the other tests' runs stay out of its lists

        java.util.function.Function<Metric, List<double[]>> timeline = m -> q.timeline(TimelineRequest.newBuilder().setRun("initech-alpha8")
                .setTarget("layers.0.q_proj").setMetric(m).build()).getPointsList().stream().map(pt -> new double[]{pt.getStep(), pt.getValue()}).toList();
        assertTimeline(List.of(new double[]{10, 0.9}, new double[]{20, 1.0}), timeline.apply(Metric.MID_S), "mid-cut S");
        assertTimeline(List.of(new double[]{10, 0.9}, new double[]{20, 1.0}), timeline.apply(Metric.ROW_COLUMN_S), "row/column S");
        assertTimeline(List.of(new double[]{10, (1.2 + 1.3) / 2 - 0.9}, new double[]{20, (1.4 + 1.5) / 2 - 1.0}),
                timeline.apply(Metric.VALLEY_DEPTH), "valley depth");
        assertTimeline(List.of(new double[]{10, 2.5}, new double[]{20, 2.0}), timeline.apply(Metric.TEST_LOSS), "test loss");
        assertTimeline(List.of(new double[]{10, 3.0}, new double[]{20, 2.2}), timeline.apply(Metric.TRAIN_LOSS), "train loss");
        StatusRuntimeException noMetric = assertThrows(StatusRuntimeException.class, () -> timeline.apply(Metric.METRIC_UNSPECIFIED));
        assertEquals(Status.Code.INVALID_ARGUMENT, noMetric.getStatus().getCode());

        List<SweepPoint> sweep = q.sweep(SweepRequest.newBuilder().addRuns("initech-alpha8").addRuns("initech-alpha16").setTarget("layers.0.q_proj")
                .setBy(SweepAxis.ALPHA).setStep(StepSelector.newBuilder().setLatest(true)).build()).getPointsList();
        assertEquals(2, sweep.size());
        assertEquals(8, sweep.get(0).getX(), 0);
        assertEquals(1.0, sweep.get(0).getMidS(), 1e-15);
        assertEquals((1.4 + 1.5) / 2 - 1.0, sweep.get(0).getValleyDepth(), 1e-15);
        assertEquals(2.0, sweep.get(0).getTestLoss(), 0, "the latest step's test loss");
        assertEquals(16, sweep.get(1).getX(), 0);
        assertEquals(1.5, sweep.get(1).getMidS(), 1e-15);
        assertEquals(1.8, sweep.get(1).getTestLoss(), 0);
        assertEquals(1e-4, q.sweep(SweepRequest.newBuilder().addRuns("initech-alpha8").setTarget("layers.0.q_proj").setBy(SweepAxis.LR).build())
                .getPoints(0).getX(), 0);
        assertTrue(Double.isNaN(q.sweep(SweepRequest.newBuilder().addRuns("initech-alpha8").setTarget("layers.0.q_proj").setBy(SweepAxis.CHI).build())
                .getPoints(0).getX()), "a LoRA run has no bond dimension");
    }

    static void assertTimeline(List<double[]> expected, List<double[]> actual, String what) {
        assertEquals(expected.size(), actual.size(), what);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i)[0], actual.get(i)[0], 0, what + " step");
            assertEquals(expected.get(i)[1], actual.get(i)[1], 1e-15, what + " at step " + expected.get(i)[0]);
        }
    }

    /** The tenant's runs once it sees at least {@code n}; fails after 10 s. */
    List<String> awaitRuns(String tenant, int n) {
        return await(tenant + " sees " + n + " run(s)").atMost(Duration.ofSeconds(10)).until(
                () -> as(tenant).listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream().map(RunSummary::getRun).toList(),
                runs -> runs.size() >= n);
    }
}
