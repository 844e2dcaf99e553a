package dev.entangle.theory;

import dev.entangle.proto.theory.v1.PageRequest;
import dev.entangle.proto.theory.v1.TheoryGrpc;
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
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** With entangle.auth.token set, gRPC and HTTP need the bearer token; health probes stay open. */
@QuarkusTest
@TestProfile(AuthenticationTest.WithToken.class)
class AuthenticationTest {

    public static class WithToken implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("entangle.auth.token", "s3cr3t-token");
        }
    }

    @TestHTTPResource
    URL url;

    TheoryGrpc.TheoryBlockingStub stub(ManagedChannel ch, String token) {
        TheoryGrpc.TheoryBlockingStub s = TheoryGrpc.newBlockingStub(ch);
        if (token == null) return s;
        Metadata h = new Metadata();
        h.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        return s.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h));
    }

    @Test
    void grpcNeedsTheToken() {
        ManagedChannel ch = ManagedChannelBuilder.forAddress(url.getHost(), url.getPort()).usePlaintext().build();
        try {
            PageRequest req = PageRequest.newBuilder().setDLeft(2).setDRight(2).build();
            for (String bad : new String[]{null, "wrong"}) {
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> stub(ch, bad).page(req));
                assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), String.valueOf(bad));
            }
            assertEquals(1.0 / 3, stub(ch, "s3cr3t-token").page(req).getExact(), 1e-15);
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void httpNeedsTheTokenExceptHealth() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI base = url.toURI();
        assertEquals(200, http.send(HttpRequest.newBuilder(base.resolve("/q/health/live")).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(401, http.send(HttpRequest.newBuilder(base.resolve("/q/metrics")).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(200, http.send(HttpRequest.newBuilder(base.resolve("/q/metrics")).header("authorization", "Bearer s3cr3t-token").build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
    }
}
