package dev.levee.gateway;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/** Resolves a host name to all its addresses; tests replace the system resolver with a fixed table. */
@FunctionalInterface
public interface HostResolver {
    /** Returns every address of {@code name}, possibly none; throws when the name cannot be resolved. */
    List<InetAddress> resolve(String name) throws UnknownHostException;

    /**
     * The JDK resolver: every A and AAAA record, after the search domains of the system's resolver
     * configuration. The JDK caches lookup results for {@code networkaddress.cache.ttl} seconds (30 s
     * by default), so the command sets that property to the re-resolve interval.
     */
    HostResolver SYSTEM = name -> List.of(InetAddress.getAllByName(name));
}
