package dev.entangle.it;

import dev.entangle.stack.Component;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A stack service's Prometheus metrics (/q/metrics), and its heap watched while a test runs. */
final class ServiceMetrics {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private ServiceMetrics() {}

    static String scrape(Component service) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + SharedStack.stack().port(service) + "/q/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** Sum of the positive samples whose line matches {@code regex} (group 1: the value). */
    static double sum(String metrics, String regex) {
        Matcher m = Pattern.compile(regex).matcher(metrics);
        double s = 0;
        while (m.find()) {
            double v = Double.parseDouble(m.group(1));
            if (v > 0) s += v;
        }
        return s;
    }

    static double heapMax(String metrics) {
        return sum(metrics, "jvm_memory_max_bytes\\{area=\"heap\"[^}]*\\} ([0-9.E+]+)");
    }

    static double heapUsed(String metrics) {
        return sum(metrics, "jvm_memory_used_bytes\\{area=\"heap\"[^}]*\\} ([0-9.E+]+)");
    }

    /** Samples the services' used heap every 200 ms on a daemon thread, keeping the peak per service. */
    static final class HeapWatch implements AutoCloseable {
        private final Map<Component, Double> peak = new ConcurrentHashMap<>();
        private final Map<Component, Double> max = new ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean running = true;

        HeapWatch(Component... services) {
            thread = new Thread(() -> {
                while (running) {
                    for (Component s : services) {
                        try {
                            String m = scrape(s);
                            peak.merge(s, heapUsed(m), Math::max);
                            max.put(s, heapMax(m));
                        } catch (IOException e) {
                            // a scrape that fails is a gap in the samples, not a result
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    try {
                        Thread.sleep(200);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "heap-watch");
            thread.setDaemon(true);
            thread.start();
        }

        double peakUsed(Component service) { return peak.getOrDefault(service, 0.0); }

        double limit(Component service) { return max.getOrDefault(service, 0.0); }

        @Override
        public void close() {
            running = false;
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
