package dev.entangle.query.messaging;

import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.query.domain.ProfileView;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Incoming;

import java.io.IOException;

/**
 * Feeds the view from the profilers' results topic. Each query process reads the topic from the
 * beginning under its own group id, so a restart rebuilds the same view.
 */
@ApplicationScoped
public class ResultsConsumer {

    @Inject
    ProfileView view;

    @Incoming(Topics.PROFILES_COMPUTED)
    public void apply(byte[] payload) throws IOException {
        view.apply(ProfileComputed.parseFrom(payload));
    }
}
