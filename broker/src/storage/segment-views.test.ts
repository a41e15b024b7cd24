// Proves the bookkeeping that keeps a removed segment readable: a callback for a segment runs only once no pinned view and not the current one holds it, exactly once, at once when nothing does, and regardless of the order in which reads finish.
import { describe, expect, it } from "vitest";
import { SegmentViews } from "./segment-views.js";

describe("SegmentViews", () => {
  it("runs at once for a segment no view holds", () => {
    const views = new SegmentViews(["a", "b"]);
    views.publish(["b"]);
    let ran = 0;
    views.whenUnreachable("a", () => ran++);
    expect(ran).toBe(1);
    expect(views.isReachable("a")).toBe(false);
  });

  it("waits for the current view to be replaced when the segment leaves it later (a swap retires before it publishes)", () => {
    const views = new SegmentViews(["a", "b"]);
    let ran = 0;
    views.whenUnreachable("a", () => ran++);
    expect(ran).toBe(0);
    const pin = views.pin();
    views.publish(["a2", "b"]);
    expect(ran).toBe(0);
    views.unpin(pin);
    expect(ran).toBe(1);
  });

  it("waits for every read that pinned a view holding the segment, in any order", () => {
    const views = new SegmentViews(["a", "b"]);
    const first = views.pin();
    const second = views.pin();
    views.publish(["b", "c"]);
    const third = views.pin();
    let ran = 0;
    views.whenUnreachable("a", () => ran++);
    views.unpin(third);
    expect(ran).toBe(0);
    views.unpin(second);
    expect(ran).toBe(0);
    expect(views.heldViews).toBe(1);
    views.unpin(first);
    expect(ran).toBe(1);
    expect(views.heldViews).toBe(0);
    expect(views.current).toEqual(["b", "c"]);
  });

  it("a read's view never changes under it", () => {
    const views = new SegmentViews(["a"]);
    const pin = views.pin();
    views.publish(["a", "b"]);
    views.publish(["b"]);
    expect(pin.segments).toEqual(["a"]);
    views.unpin(pin);
  });

  it("refuses an unpin without a pin (a bug, not a fault)", () => {
    const views = new SegmentViews(["a"]);
    const pin = views.pin();
    views.unpin(pin);
    expect(() => views.unpin(pin)).toThrow();
  });
});
