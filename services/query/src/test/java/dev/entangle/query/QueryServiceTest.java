package dev.entangle.query;

import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.GetProfileRequest;
import dev.entangle.proto.query.v1.NoHairRequest;
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
                () -> g.timeline(TimelineRequest.newBuilder().setRun("acme-run").setTarget("layers.0.q_proj").setMetric(dev.entangle.proto.query.v1.Metric.MID_S).build()),
                () -> g.sweep(SweepRequest.newBuilder().addRuns("acme-run").setTarget("layers.0.q_proj").setBy(dev.entangle.proto.query.v1.SweepAxis.R).build()),
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

    /** The tenant's runs once it sees at least {@code n}; fails after 10 s. */
    List<String> awaitRuns(String tenant, int n) {
        return await(tenant + " sees " + n + " run(s)").atMost(Duration.ofSeconds(10)).until(
                () -> as(tenant).listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream().map(RunSummary::getRun).toList(),
                runs -> runs.size() >= n);
    }
}
