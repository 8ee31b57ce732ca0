package com.backorders.examples;

import com.backorders.v1.BackorderContext;
import com.backorders.v1.BackorderQuantities;
import com.backorders.v1.CoveredBackorder;
import com.backorders.v1.EventEnvelope;
import com.backorders.v1.StockOrderLine;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Example Backorders event subscriber: replays the four event topics from the beginning, decodes
 * every record (a serialised backorder.v1.EventEnvelope), drops duplicates by their CloudEvents
 * id, and prints each back order's timeline with the quantities and state after every event. It
 * stops by itself once it has read up to the end offsets the topics had when it started.
 *
 * <pre>java -jar backorders-subscriber.jar [--bootstrap HOST:PORT] [--json] [--timeout SECONDS]</pre>
 *
 * --json prints {backorder_id: {state, branch_id, debtor_id, part_number, back_ordered, filled,
 * invoiced, cancelled}} instead, for scripts.
 */
public final class Subscriber {
  static final List<String> TOPICS =
      List.of(
          "backorder.debtor-query.v1",
          "backorder.invoicing.v1",
          "backorder.purchasing.v1",
          "backorder.receiving.v1");

  /**
   * A back order as the services see it, built the same way (services/common/backorder_view.cc).
   *
   * <p>A back order's events arrive on three topics (created/invoiced/cancelled from invoicing,
   * filled from receiving, stock order placed from purchasing) and Kafka orders records only
   * within one partition, so the rules must not depend on the order: every event carries the
   * quantities after it and we keep the largest of each (quantities only grow), a cancellation is
   * final (it sets filled = invoiced: the filled stock went back to the shelf, and a later fill is
   * ignored), and the state is derived from the quantities, never stored as a transition.
   */
  static final class View {
    BackorderContext context; // from the first back-order event seen; the creation wins
    long backOrdered, filled, invoiced, cancelled;
    boolean onOrder; // named by a StockOrderPlaced

    private void merge(BackorderQuantities q) {
      backOrdered = Math.max(backOrdered, q.getBackOrdered());
      invoiced = Math.max(invoiced, q.getInvoiced());
      // Once cancelled, a fill receiving made meanwhile was released by the cancellation.
      if (cancelled == 0) filled = Math.max(filled, q.getFilled());
    }

    private void mergeContext(BackorderContext c) {
      if (context == null) context = c;
    }

    void apply(EventEnvelope e) {
      switch (e.getPayloadCase()) {
        case BACKORDER_CREATED -> {
          context = e.getBackorderCreated().getContext();
          merge(BackorderQuantities.newBuilder()
              .setBackOrdered(e.getBackorderCreated().getQuantity()).build());
        }
        case BACKORDER_FILLED -> {
          mergeContext(e.getBackorderFilled().getContext());
          merge(e.getBackorderFilled().getQuantities());
        }
        case BACKORDER_INVOICED -> {
          mergeContext(e.getBackorderInvoiced().getContext());
          merge(e.getBackorderInvoiced().getQuantities());
        }
        case BACKORDER_CANCELLED -> {
          mergeContext(e.getBackorderCancelled().getContext());
          BackorderQuantities q = e.getBackorderCancelled().getQuantities();
          backOrdered = Math.max(backOrdered, q.getBackOrdered());
          invoiced = Math.max(invoiced, q.getInvoiced());
          cancelled = q.getCancelled();
          filled = invoiced;
        }
        case STOCK_ORDER_PLACED -> onOrder = true;
        default -> {}
      }
    }

    long waiting() {
      return Math.max(0, backOrdered - filled - cancelled);
    }

    /** backorder_view.cc DeriveState: the state follows from the quantities. */
    String state() {
      String s;
      if (cancelled > 0) s = "CANCELLED";
      else if (backOrdered > 0 && invoiced >= backOrdered) s = "INVOICED";
      else if (backOrdered > 0 && waiting() == 0) s = "FILLED";
      else if (filled > 0) s = "PARTLY_FILLED";
      else if (onOrder) s = "ON_ORDER";
      else s = "OPEN";
      return "BACKORDER_STATE_" + s;
    }

    String shortState() {
      return state().substring("BACKORDER_STATE_".length());
    }

    String figures() {
      return "ordered " + backOrdered + " filled " + filled + " invoiced " + invoiced
          + " cancelled " + cancelled;
    }
  }

  /** One distinct event and where it came from. */
  record Event(String id, EventEnvelope envelope) {}

  /** The back orders an event concerns (none for the others: debtors, parts, stock moves). */
  static Set<String> backordersOf(EventEnvelope e) {
    Set<String> ids = new TreeSet<>();
    switch (e.getPayloadCase()) {
      case BACKORDER_CREATED -> ids.add(e.getBackorderCreated().getContext().getBackorderId());
      case BACKORDER_FILLED -> ids.add(e.getBackorderFilled().getContext().getBackorderId());
      case BACKORDER_INVOICED -> ids.add(e.getBackorderInvoiced().getContext().getBackorderId());
      case BACKORDER_CANCELLED -> ids.add(e.getBackorderCancelled().getContext().getBackorderId());
      case STOCK_ORDER_PLACED -> {
        for (StockOrderLine line : e.getStockOrderPlaced().getLinesList()) {
          for (CoveredBackorder c : line.getBackordersList()) ids.add(c.getBackorderId());
        }
      }
      default -> {}
    }
    ids.remove("");
    return ids;
  }

  static String describe(EventEnvelope e, String backorderId) {
    switch (e.getPayloadCase()) {
      case BACKORDER_CREATED: {
        var p = e.getBackorderCreated();
        return p.getQuantity() + " x " + p.getContext().getPartNumber() + " back-ordered";
      }
      case BACKORDER_FILLED: {
        var p = e.getBackorderFilled();
        String via = p.getCreditorInvoiceId().isEmpty() ? "" : " " + p.getCreditorInvoiceId();
        return "filled " + p.getQuantity() + " (" + p.getSource() + via + ")";
      }
      case BACKORDER_INVOICED: {
        var p = e.getBackorderInvoiced();
        return "invoiced " + p.getQuantity() + " on " + p.getInvoicingInvoiceId() + " line "
            + p.getInvoicingLine();
      }
      case BACKORDER_CANCELLED: {
        var p = e.getBackorderCancelled();
        return "cancelled " + p.getQuantityCancelled() + ", " + p.getFilledReleased()
            + " filled released" + (e.getReason().isEmpty() ? "" : ": " + e.getReason());
      }
      case STOCK_ORDER_PLACED: {
        var p = e.getStockOrderPlaced();
        int line = 0;
        for (StockOrderLine l : p.getLinesList()) {
          for (CoveredBackorder c : l.getBackordersList()) {
            if (line == 0 && c.getBackorderId().equals(backorderId)) line = l.getLine();
          }
        }
        return "on stock order " + p.getStockOrderId() + " line " + line + " to "
            + p.getSupplierId();
      }
      default:
        return e.getType();
    }
  }

  static String iso(Timestamp t) {
    Instant i = Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).truncatedTo(ChronoUnit.MILLIS);
    return DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
        .withZone(java.time.ZoneOffset.UTC)
        .format(i);
  }

  static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** Every distinct event on the topics, up to the end offsets they had when we started. */
  static List<Event> readAll(String bootstrap, Duration timeout, Map<String, Integer> stats) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    // No group.id: with assign() nothing is joined or committed, so every run is a full replay.
    // A long-running subscriber would subscribe() with its own group.id and commit after
    // processing, and so resume where it left off (at-least-once).
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "backorders-example-timeline");

    List<Event> events = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : TOPICS) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
        if (infos == null || infos.isEmpty()) {
          throw new IllegalStateException("topic " + topic + " not found at " + bootstrap);
        }
        for (PartitionInfo p : infos) partitions.add(new TopicPartition(topic, p.partition()));
      }
      // Topics are kept for ever, so the beginning is the whole history: replaying it rebuilds
      // every back order from nothing.
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end =
          new HashMap<>(consumer.endOffsets(partitions, Duration.ofSeconds(10)));

      long deadline = System.nanoTime() + timeout.toNanos();
      // position() >= the end offset seen at start: caught up on that partition (position
      // also steps over transaction markers, which carry offsets but no record).
      end.entrySet().removeIf(x -> consumer.position(x.getKey()) >= x.getValue());
      while (!end.isEmpty()) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("not caught up after " + timeout + ": " + end.keySet());
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          stats.merge("records", 1, Integer::sum);
          EventEnvelope e;
          try {
            e = EventEnvelope.parseFrom(r.value() == null ? new byte[0] : r.value());
          } catch (InvalidProtocolBufferException ex) { // a record that is not ours
            stats.merge("undecodable", 1, Integer::sum);
            continue;
          }
          // Delivery is at least once: a producer retry or a relay restart can publish the same
          // event twice (same ce_id, maybe another offset). Deduplicate on the CloudEvents id
          // (= the envelope's event_id), never on the offset.
          String id = header(r, "ce_id");
          if (id.isEmpty()) id = e.getEventId();
          if (id.isEmpty()) id = r.topic() + "/" + r.partition() + "@" + r.offset();
          if (!seen.add(id)) {
            stats.merge("duplicates", 1, Integer::sum);
            continue;
          }
          stats.merge("type " + (e.getType().isEmpty() ? "?" : e.getType()), 1, Integer::sum);
          events.add(new Event(id, e));
        }
        end.entrySet().removeIf(x -> consumer.position(x.getKey()) >= x.getValue());
      }
    }
    return events;
  }

  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  public static void main(String[] args) {
    String bootstrap = System.getenv().getOrDefault("KAFKA_BOOTSTRAP", "127.0.0.1:9092");
    boolean asJson = false;
    Duration timeout = Duration.ofSeconds(120);
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--bootstrap" -> bootstrap = args[++i];
        case "--json" -> asJson = true;
        case "--timeout" -> timeout = Duration.ofMillis((long) (Double.parseDouble(args[++i]) * 1000));
        default -> {
          boolean help = args[i].equals("--help") || args[i].equals("-h");
          (help ? System.out : System.err).println(
              "usage: subscriber [--bootstrap HOST:PORT] [--json] [--timeout SECONDS]\n"
                  + "  --bootstrap  Kafka bootstrap servers [$KAFKA_BOOTSTRAP or 127.0.0.1:9092]\n"
                  + "  --json       print final states and quantities as JSON\n"
                  + "  --timeout    give up if not caught up by then [120]");
          System.exit(help ? 0 : 2);
        }
      }
    }

    Map<String, Integer> stats = new TreeMap<>();
    List<Event> events;
    try {
      events = readAll(bootstrap, timeout, stats);
    } catch (RuntimeException ex) {
      System.err.println("subscriber: " + ex.getMessage());
      System.exit(1);
      return;
    }

    // A back order's events came from three topics; order them by when they happened for the
    // timeline (the view's rules give the same final figures in any order).
    Map<String, List<Event>> timelines = new TreeMap<>();
    for (Event ev : events) {
      for (String id : backordersOf(ev.envelope())) {
        timelines.computeIfAbsent(id, k -> new ArrayList<>()).add(ev);
      }
    }
    Comparator<Event> byTime =
        Comparator.<Event>comparingLong(ev -> ev.envelope().getOccurredAt().getSeconds())
            .thenComparingInt(ev -> ev.envelope().getOccurredAt().getNanos())
            .thenComparing(Event::id);

    StringBuilder out = new StringBuilder();
    Map<String, View> views = new TreeMap<>();
    for (var entry : timelines.entrySet()) {
      String id = entry.getKey();
      View view = new View();
      views.put(id, view);
      List<String> rows = new ArrayList<>();
      entry.getValue().sort(byTime);
      for (Event ev : entry.getValue()) {
        EventEnvelope e = ev.envelope();
        view.apply(e);
        String actor = e.getActor().getSubject().isEmpty()
            ? "-" : e.getActor().getSubject() + " (" + e.getActor().getRole() + ")";
        rows.add(String.format("  %s  %-19s %-32s %-45s %-14s %s", iso(e.getOccurredAt()),
            e.getType(), actor, view.figures(), view.shortState(), describe(e, id)));
      }
      if (asJson) continue;
      BackorderContext c = view.context;
      out.append(id).append(c == null ? "  (creation not seen)"
          : String.format("  debtor %s, branch %s, part %s, invoice %s line %d", c.getDebtorId(),
              c.getBranchId(), c.getPartNumber(), c.getInvoiceId(), c.getInvoiceLine()))
          .append('\n');
      for (String row : rows) out.append(row).append('\n');
      out.append("  => ").append(view.shortState()).append(": ").append(view.figures()).append("\n\n");
    }

    if (asJson) {
      // Only back orders whose creation or another back-order event was seen (a stock order
      // naming an unknown back order gives no context), like the debtor-query read model.
      List<String> items = new ArrayList<>();
      views.forEach((id, v) -> {
        if (v.context == null) return;
        items.add(" " + json(id) + ": {\"state\": " + json(v.state())
            + ", \"branch_id\": " + json(v.context.getBranchId())
            + ", \"debtor_id\": " + json(v.context.getDebtorId())
            + ", \"part_number\": " + json(v.context.getPartNumber())
            + ", \"back_ordered\": " + v.backOrdered + ", \"filled\": " + v.filled
            + ", \"invoiced\": " + v.invoiced + ", \"cancelled\": " + v.cancelled + "}");
      });
      out.append("{\n").append(String.join(",\n", items)).append("\n}\n");
    }
    System.out.print(out);
    System.out.flush();

    StringBuilder types = new StringBuilder();
    stats.forEach((k, n) -> {
      if (k.startsWith("type ")) types.append(types.length() == 0 ? "" : ", ").append(k.substring(5)).append(' ').append(n);
    });
    System.err.printf("subscriber: %d records, %d duplicates, %d undecodable; %d back orders; events: %s%n",
        stats.getOrDefault("records", 0), stats.getOrDefault("duplicates", 0),
        stats.getOrDefault("undecodable", 0), views.size(), types);
  }
}
