package dev.entangle.query.config;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/** The results view (the object store comes from dev.entangle.objectstore). */
@ApplicationScoped
public class QueryBeans {

    /** The results view the consumer feeds and the API reads. */
    @Produces
    @jakarta.inject.Singleton
    dev.entangle.query.domain.ProfileView view() {
        return new dev.entangle.query.domain.ProfileView();
    }
}
