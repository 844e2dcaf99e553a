package dev.entangle.stack;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.EnumMap;
import java.util.Map;
import java.util.Properties;

/**
 * The loopback port of every component, and the broker's controller port (KRaft's second
 * listener). Recorded in the stack folder's {@code ports.properties} so that {@code status} and
 * {@code down} find the stack {@code up} started.
 */
public record Ports(Map<Component, Integer> ports, int controller) {

    static final int DEFAULT_CONTROLLER = 19093;

    public Ports {
        ports = Map.copyOf(ports);
        for (Component c : Component.values()) {
            if (!ports.containsKey(c)) throw new IllegalArgumentException("no port for " + c);
        }
    }

    public int of(Component c) { return ports.get(c); }

    /** The fixed ports of {@code ./entangle up}. */
    public static Ports defaults() {
        Map<Component, Integer> p = new EnumMap<>(Component.class);
        for (Component c : Component.values()) p.put(c, c.defaultPort());
        return new Ports(p, DEFAULT_CONTROLLER);
    }

    /** Free ports picked by the OS (tests, several stacks on one machine). */
    public static Ports free() {
        Map<Component, Integer> p = new EnumMap<>(Component.class);
        for (Component c : Component.values()) p.put(c, freePort());
        return new Ports(p, freePort());
    }

    /** A port the OS has just reported free. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Properties toProperties() {
        Properties p = new Properties();
        for (Component c : Component.values()) p.setProperty(c.portKey(), "" + of(c));
        p.setProperty("controller", "" + controller);
        return p;
    }

    static Ports of(Properties p) {
        Map<Component, Integer> ports = new EnumMap<>(Component.class);
        for (Component c : Component.values()) ports.put(c, Integer.parseInt(p.getProperty(c.portKey())));
        return new Ports(ports, Integer.parseInt(p.getProperty("controller")));
    }
}
