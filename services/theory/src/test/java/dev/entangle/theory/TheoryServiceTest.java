package dev.entangle.theory;

import dev.entangle.core.theory.PageCurve;
import dev.entangle.proto.theory.v1.CapsRequest;
import dev.entangle.proto.theory.v1.CardyRequest;
import dev.entangle.proto.theory.v1.MarchenkoPasturRequest;
import dev.entangle.proto.theory.v1.MonteCarloRequest;
import dev.entangle.proto.theory.v1.MonteCarloResponse;
import dev.entangle.proto.theory.v1.MpDistanceRequest;
import dev.entangle.proto.theory.v1.PageProfileRequest;
import dev.entangle.proto.theory.v1.PageRequest;
import dev.entangle.proto.theory.v1.RandomKind;
import dev.entangle.proto.theory.v1.StableRankRequest;
import dev.entangle.proto.theory.v1.TheoryGrpc;
import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.store.ObjectStore;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Theory API over a real gRPC channel (the object store is in memory here; the stack tests use S3). */
@QuarkusTest
class TheoryServiceTest {

    static final InMemoryObjectStore STORE = new InMemoryObjectStore();

    @ApplicationScoped
    static class InMemoryStore {
        @Produces
        @Alternative
        @Priority(1)
        @ApplicationScoped
        ObjectStore store() { return STORE; }
    }

    @TestHTTPResource
    URL url;

    ManagedChannel channel;
    TheoryGrpc.TheoryBlockingStub theory;

    @BeforeEach
    void connect() {
        channel = ManagedChannelBuilder.forAddress(url.getHost(), url.getPort()).usePlaintext().build();
        theory = TheoryGrpc.newBlockingStub(channel);
    }

    @AfterEach
    void close() {
        channel.shutdownNow();
    }

    @Test
    void pageAndItsProfile() {
        var p = theory.page(PageRequest.newBuilder().setDLeft(2).setDRight(2).build());
        assertEquals(1.0 / 3, p.getExact(), 1e-15);
        assertEquals(Math.log(2), p.getMaxEntropy(), 1e-15);
        var prof = theory.pageProfile(PageProfileRequest.newBuilder().setRows(64).setCols(32).build());
        assertEquals(11, prof.getSitesCount());
        assertEquals(10, prof.getCutsCount());
        assertEquals(PageCurve.exact(64, 32), prof.getCuts(5).getPage(), 0);
        var bad = assertThrows(StatusRuntimeException.class,
                () -> theory.pageProfile(PageProfileRequest.newBuilder().setRows(6).setCols(4).addSites(5).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
    }

    @Test
    void marchenkoPasturAndDistance() {
        var mp = theory.marchenkoPastur(MarchenkoPasturRequest.newBuilder().setDLeft(128).setDRight(512).setPoints(16).build());
        assertEquals(0.25, mp.getAspect(), 0);
        assertEquals(1, mp.getMass(), 1e-6);
        assertEquals(1.25, mp.getSecondMoment(), 1e-6);
        assertEquals(16, mp.getDensityCount());
        List<Double> flat = new ArrayList<>();
        for (int i = 0; i < 64; i++) flat.add(1.0 / 64);
        var d = theory.marchenkoPasturDistance(MpDistanceRequest.newBuilder().setDLeft(64).setDRight(64).addAllP(flat).build());
        assertTrue(d.getKolmogorovSmirnov() > 0.3, "a flat spectrum is not MP at c = 1: " + d);
    }

    @Test
    void cardyStableRankAndCaps() {
        int t = 64;
        SplittableRandom rng = new SplittableRandom(1);
        List<Double> a = new ArrayList<>();
        for (int i = 0; i < t; i++) {
            double[] row = new double[t];
            double sum = 0;
            for (int j = 0; j < t; j++) sum += row[j] = Math.exp(rng.nextGaussian());
            for (int j = 0; j < t; j++) a.add(row[j] / sum);
        }
        var c = theory.cardy(CardyRequest.newBuilder().setTokens(t).addAllAttention(a).build());
        assertEquals(c.getSigma2() / (1 + c.getSigma2()), c.getCharge(), 1e-15);
        assertEquals(c.getMeasuredS(), c.getPredictedS(), 0.05);
        var sr = theory.stableRank(StableRankRequest.newBuilder().setTokens(4).addEigenvalues(4).addEigenvalues(1).addEigenvalues(0).addEigenvalues(0).build());
        assertEquals(17.0 / 16, sr.getStableRank(), 1e-15);
        assertEquals(0.25, sr.getDelta1(), 1e-15);
        assertTrue(sr.getEntropy() <= sr.getEntropyBound());
        var caps = theory.caps(CapsRequest.newBuilder().setRank(16).setChi(8).build());
        assertEquals(Math.log(16), caps.getLnR(), 0);
        assertEquals(Math.log(8), caps.getLnChi(), 0);
        var bad = assertThrows(StatusRuntimeException.class, () -> theory.cardy(CardyRequest.newBuilder().setTokens(3).addAttention(1).build()));
        assertTrue(bad.getStatus().getDescription().contains("tokens²"), bad.getStatus().toString());
    }

    @Test
    void monteCarloIsCachedByItsKey() {
        MonteCarloRequest req = MonteCarloRequest.newBuilder().setRows(16).setCols(8).setKind(RandomKind.HAAR).setSamples(50).setSeed(3).build();
        MonteCarloResponse first = theory.monteCarlo(req);
        assertFalse(first.getCached());
        assertTrue(STORE.exists(first.getCacheKey()), "stored under " + first.getCacheKey());
        MonteCarloResponse second = theory.monteCarlo(req);
        assertTrue(second.getCached());
        assertEquals(first.getCutsList(), second.getCutsList());
        for (var c : first.getCutsList()) {
            assertEquals(c.getPage(), c.getMeanS(), 4 * c.getStderrS() + 1e-12, "cut " + c.getCut());
        }
        var bad = assertThrows(StatusRuntimeException.class, () -> theory.monteCarlo(req.toBuilder().setKind(RandomKind.LORA_INIT).build()));
        assertTrue(bad.getStatus().getDescription().contains("rank"), bad.getStatus().toString());
    }

    /** Reflection is on: a grpcurl-style client lists the Theory service. */
    @Test
    void reflectionListsTheApi() throws Exception {
        var stub = io.grpc.reflection.v1.ServerReflectionGrpc.newStub(channel);
        var done = new java.util.concurrent.CompletableFuture<List<String>>();
        var requests = stub.serverReflectionInfo(new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(io.grpc.reflection.v1.ServerReflectionResponse r) {
                done.complete(r.getListServicesResponse().getServiceList().stream().map(io.grpc.reflection.v1.ServiceResponse::getName).toList());
            }

            @Override
            public void onError(Throwable t) { done.completeExceptionally(t); }

            @Override
            public void onCompleted() {}
        });
        requests.onNext(io.grpc.reflection.v1.ServerReflectionRequest.newBuilder().setListServices("").build());
        List<String> services = done.get(10, java.util.concurrent.TimeUnit.SECONDS);
        requests.onCompleted();
        assertTrue(services.contains("entangle.theory.v1.Theory"), services.toString());
    }
}
