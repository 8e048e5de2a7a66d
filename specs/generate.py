#!/usr/bin/env python3
"""Writes the small example data sets under specs/data/ (deterministic: fixed seeds).

Run from anywhere: python3 specs/generate.py. Each file stays well under 1 MB.
"""
import csv
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for v, w in pairs:
        x -= w
        if x < 0:
            return v
    return pairs[-1][0]


def write_csv(name, header, rows):
    with open(DATA / name, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def coffee():
    rng = random.Random(20240331)
    types = [("office", 14), ("restaurant", 10), ("cafe", 12), ("household", 45), ("student", 12), ("hotel", 5)]
    products = [("ground", 30), ("beans", 22), ("capsules", 28), ("cold_brew", 8), ("instant", 12)]
    regions = [("EU", 40), ("NA", 30), ("APAC", 20), ("LATAM", 10)]
    channels = [("retail", 45), ("online", 35), ("wholesale", 20)]
    price = {"ground": 11.0, "beans": 14.0, "capsules": 32.0, "cold_brew": 6.5, "instant": 9.0}
    customers = []
    for cid in range(1, 601):
        ct = weighted(rng, types)
        age = None if rng.random() < 0.03 else int(rng.triangular(16, 80, 34))
        customers.append((cid, ct, age, weighted(rng, regions)))
    rows = []
    start = date(2023, 1, 1)
    for oid in range(1, 6001):
        cid, ct, age, region = customers[int(len(customers) * rng.random() ** 1.6)]
        # The classic dirty value: a trailing space that no mapping lists.
        shown_type = "cafe " if ct == "cafe" and rng.random() < 0.02 else ct
        product = weighted(rng, products)
        b2b = ct in ("office", "restaurant", "cafe", "hotel")
        kg = round(rng.uniform(2, 40) if b2b else rng.uniform(0.2, 3), 2)
        revenue = round(kg * price[product] * rng.uniform(0.85, 1.15), 2)
        if rng.random() < 0.01:
            revenue = 0.0  # free samples: outside the market's `where revenue > 0`
        channel = "wholesale" if b2b and rng.random() < 0.5 else weighted(rng, channels)
        d = start + timedelta(days=rng.randrange(0, 730))
        rows.append((oid, cid, shown_type, age, region, product, channel, kg, revenue, d.isoformat()))
    write_csv("coffee_sales.csv", ["order_id", "customer_id", "customer_type", "age", "region", "product", "channel", "kg", "revenue", "order_date"], rows)


def cars():
    rng = random.Random(1998)
    # Sale dates from a second generator, so the other columns stay as they were.
    # SUVs bought by 21-30 year olds lean to later dates: the trend `over` shows.
    dates = random.Random(1999)
    first = date(2021, 1, 1)
    types = [("small", 24), ("medium", 26), ("sedan", 20), ("SUV", 30)]
    rows = []
    for sid in range(1, 5001):
        age = int(rng.triangular(18, 85, 38))
        t = weighted(rng, types)
        if 21 <= age <= 30 and rng.random() < 0.25:
            t = "SUV"
        base = {"small": 17000, "medium": 26000, "sedan": 34000, "SUV": 42000}[t]
        year = rng.choice([2021, 2022, 2023, 2024])
        trend = t == "SUV" and 21 <= age <= 30
        day = int(dates.triangular(0, 1460, 1460 if trend else 730))
        rows.append((sid, t, age, weighted(rng, [("north", 3), ("south", 3), ("east", 2), ("west", 2)]), round(base * rng.uniform(0.8, 1.3), 2), year, (first + timedelta(days=day)).isoformat()))
    write_csv("car_sales.csv", ["sale_id", "car_type", "buyer_age", "region", "price", "model_year", "sale_date"], rows)


def banking():
    rng = random.Random(777)
    countries = [("DE", 18), ("FR", 14), ("GB", 16), ("US", 22), ("CA", 6), ("BR", 5), ("MX", 4), ("JP", 6), ("SG", 4), ("AU", 5)]
    industries = ["manufacturing", "retail", "energy", "technology", "healthcare", "logistics"]
    lines = []
    for cid in range(1, 2001):
        rev = round(10 ** rng.uniform(5.5, 10.2), 2)  # annual revenue, USD
        lines.append(json.dumps({
            "client_id": cid,
            "country": weighted(rng, countries),
            "industry": rng.choice(industries),
            "annual_revenue": rev,
            "employees": max(1, int(rev / rng.uniform(150_000, 400_000))),
            "deposits": round(rev * rng.uniform(0.01, 0.2), 2),
            "loans": None if rng.random() < 0.3 else round(rev * rng.uniform(0.02, 0.5), 2),
        }))
    (DATA / "corporate_clients.ndjson").write_text("\n".join(lines) + "\n")


def airline():
    rng = random.Random(737)
    aircraft = [("A320", 30), ("A321", 15), ("B737", 30), ("B787", 10), ("A350", 8), ("E190", 7)]
    jobs = [("line", 45), ("base", 20), ("component", 20), ("engine", 10), ("cabin", 5)]
    rows = []
    start = date(2024, 1, 1)
    for jid in range(1, 4001):
        job = weighted(rng, jobs)
        urgent = rng.random() < (0.35 if job in ("line", "component") else 0.12)
        hours = round(rng.lognormvariate(2.2 if job != "engine" else 4.5, 0.8), 1)
        cost = round(hours * rng.uniform(90, 160) + (rng.uniform(2000, 90000) if job == "engine" else rng.uniform(0, 4000)), 2)
        rows.append((jid, f"T{rng.randrange(1, 120):03d}", weighted(rng, aircraft), job, "true" if urgent else "false", hours, cost, (start + timedelta(days=rng.randrange(0, 366))).isoformat()))
    # When the aircraft came in and when it was released (turnaround), from a stream
    # of their own so the columns above keep their values.
    times = random.Random(7370)
    timed = []
    for r in rows:
        opened_at = datetime.fromisoformat(r[7]) + timedelta(minutes=times.randrange(0, 24 * 60))
        crew = times.choice([1, 2, 3, 4])
        wait = times.expovariate(1 / 6) if r[4] == "true" else times.expovariate(1 / 2)
        released_at = opened_at + timedelta(minutes=round((r[5] / crew + wait) * 60))
        timed.append(r + (opened_at.isoformat(), released_at.isoformat()))
    write_csv("maintenance_jobs.csv", ["job_id", "tail", "aircraft", "job_type", "unscheduled", "labour_hours", "cost", "opened", "opened_at", "released_at"], timed)


def streaming():
    rng = random.Random(4242)
    rows = []
    for vid in range(1, 6001):
        age = int(rng.triangular(13, 75, 29))
        plan = weighted(rng, [("free", 35), ("basic", 25), ("standard", 25), ("premium", 15)])
        device = weighted(rng, [("tv", 35), ("mobile", 40), ("web", 15), ("console", 10)])
        genre = weighted(rng, [("drama", 25), ("comedy", 20), ("documentary", 10), ("kids", 15), ("sports", 15), ("reality", 15)])
        hours = round(rng.expovariate(1 / 9) if plan != "free" else rng.expovariate(1 / 3), 2)
        rows.append((vid, f"U{rng.randrange(1, 1500):05d}", age, plan, device, genre, hours, weighted(rng, [("EU", 4), ("NA", 4), ("APAC", 2)])))
    write_csv("viewing_sessions.csv", ["session_id", "viewer_id", "viewer_age", "plan", "device", "genre", "hours", "region"], rows)
    # Viewer profiles, a lookup table with one row per viewer (a few viewers have no
    # profile), from a stream of their own so the sessions keep their values.
    prof = random.Random(4243)
    profiles = []
    for n in range(1, 1500):
        if prof.random() < 0.03:
            continue
        signup = date(2019, 1, 1) + timedelta(days=prof.randrange(0, 6 * 365))
        country = weighted(prof, [("DE", 3), ("FR", 2), ("US", 4), ("CA", 1), ("JP", 2), ("IN", 2)])
        profiles.append((f"U{n:05d}", country, signup.isoformat(), "true" if prof.random() < 0.3 else "false"))
    write_csv("viewer_profiles.csv", ["viewer_id", "country", "signed_up", "marketing_opt_in"], profiles)


def shoppers():
    rng = random.Random(9001)
    rows = []
    start = date(2023, 1, 1)  # two years, so shoppers can move between tiers
    profiles = {}
    for tid in range(1, 7001):
        sid = int(900 * rng.random() ** 1.8) + 1
        kind = profiles.setdefault(sid, weighted(rng, [("frequent", 15), ("occasional", 60), ("bargain", 25)]))
        basket = round(rng.uniform(1.5, 6) if kind == "bargain" else rng.uniform(10, 120), 2)
        discounted = "true" if (kind == "bargain" and rng.random() < 0.8) or rng.random() < 0.1 else "false"
        rows.append((tid, sid, basket, rng.randrange(1, 6), discounted, weighted(rng, [("app", 5), ("web", 4), ("marketplace", 1)]), (start + timedelta(days=rng.randrange(0, 730))).isoformat()))
    write_csv("transactions.csv", ["txn_id", "shopper_id", "amount", "items", "discounted", "channel", "txn_date"], rows)


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    coffee()
    cars()
    banking()
    airline()
    streaming()
    shoppers()
