package dev.entangle.profiler;

import dev.entangle.objectstore.ObjectStoreSettings;
import dev.entangle.store.InMemoryObjectStore;
import dev.entangle.store.ObjectStore;
import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Alternative;
import jakarta.enterprise.inject.Produces;

/** In the profiler's @QuarkusTests the object store is an in-memory one the test fills with ingested fixtures. */
@ApplicationScoped
public class InMemoryStoreProducer {

    static final InMemoryObjectStore STORE = new InMemoryObjectStore();

    @Produces
    @Alternative
    @Priority(1)
    @ApplicationScoped
    ObjectStore store(ObjectStoreSettings settings) {
        // takes the S3 settings although it needs none: their mapping stays in use (as the real
        // producer keeps it), so the service's entangle.s3.* lines are validated as in production
        return STORE;
    }
}
