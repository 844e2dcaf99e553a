package dev.entangle.theory.config;

import dev.entangle.core.profile.ProfileCalculator;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The profile calculator (the object store, the Monte-Carlo cache, comes from dev.entangle.objectstore). */
@ApplicationScoped
public class TheoryBeans {

    @Produces
    @ApplicationScoped
    ProfileCalculator calculator() {
        return ProfileCalculator.fromEnvironment();
    }
}
