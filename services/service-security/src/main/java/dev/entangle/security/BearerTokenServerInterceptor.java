package dev.entangle.security;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import jakarta.enterprise.inject.spi.Prioritized;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.Optional;

/** Refuses gRPC calls without the bearer token (UNAUTHENTICATED) when a token is configured. */
@ApplicationScoped
@GlobalInterceptor
public class BearerTokenServerInterceptor implements ServerInterceptor, Prioritized {

    /** Higher runs earlier: first: a caller without the token learns nothing else. */
    @Override
    public int getPriority() {
        return 20;
    }

    private final Optional<String> token = BearerToken.configured();

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (token.isPresent() && !BearerToken.accepts(token.get(), headers.get(BearerToken.GRPC_HEADER))) {
            return Unauthenticated.refuse(call, Status.UNAUTHENTICATED.withDescription("a bearer token is required (authorization: Bearer <ENTANGLE_AUTH_TOKEN>)"));
        }
        return next.startCall(call, headers);
    }
}
