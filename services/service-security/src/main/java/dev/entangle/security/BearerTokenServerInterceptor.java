package dev.entangle.security;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.Optional;

/** Refuses gRPC calls without the bearer token (UNAUTHENTICATED) when a token is configured. */
@ApplicationScoped
@GlobalInterceptor
public class BearerTokenServerInterceptor implements ServerInterceptor {

    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of(BearerToken.HEADER, Metadata.ASCII_STRING_MARSHALLER);

    private final Optional<String> token = BearerToken.configured();

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (token.isPresent() && !BearerToken.accepts(token.get(), headers.get(AUTHORIZATION))) {
            call.close(Status.UNAUTHENTICATED.withDescription("a bearer token is required (authorization: Bearer <ENTANGLE_AUTH_TOKEN>)"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
    }
}
