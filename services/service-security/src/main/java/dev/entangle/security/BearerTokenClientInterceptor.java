package dev.entangle.security;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.Optional;

/**
 * Adds the configured bearer token to every gRPC client of a service (query → theory): global,
 * so a service without clients does not carry an unused interceptor.
 */
@ApplicationScoped
@io.quarkus.grpc.GlobalInterceptor
public class BearerTokenClientInterceptor implements ClientInterceptor {

    private final Optional<String> token = BearerToken.configured();

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                token.ifPresent(t -> headers.put(BearerToken.GRPC_HEADER, BearerToken.PREFIX + t));
                super.start(listener, headers);
            }
        };
    }
}
