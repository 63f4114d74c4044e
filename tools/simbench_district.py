"""A district built from SimBench's 15-minute load profiles, for testing detection on curves our
generator did not make (issue 12: "tune for the real world, not for one generator").

SimBench (simbench.de, open data) publishes standard and measured-style 15-minute profiles for
households (H0-*), businesses (G0-G6), farms (L0-L2), heat pumps (Air_*, Soil_*) and home EV
chargers (HLS_*). This script draws a district of them in powerscreen's eval files:
  300 homes (H0, each shifted by whole weeks and scaled to 5-16 kWh a day), 20 heat pumps and 20 EV
  chargers on top of homes, 40 shops (G profiles, 4-25 kW on contracts at SHOPK x their peak), and
  40 workshops in flats (G and L profiles at 3-15 kW on top of a home; half running from the first
  day, half from a random day 10-30), all with +-15 % noise a quarter hour.

Not run by npm test: the profiles come from PyPI, which tests may not reach at run time.
  pip download simbench --no-deps -d /tmp/sb
  unzip -q /tmp/sb/simbench-*.whl 'simbench/networks/1-complete_data-mixed-all-0-sw/LoadProfile.csv' -d /tmp/sb/x
  SIMBENCH_PROFILES=/tmp/sb/x/simbench/networks/1-complete_data-mixed-all-0-sw/LoadProfile.csv \
    START=03.10 SEED=1 python3 tools/simbench_district.py /tmp/sbA
  node bin/powerscreen.js eval --readings /tmp/sbA/readings-wide.csv --meters /tmp/sbA/meters.csv \
    --sites /tmp/sbA/sites.csv --labels /tmp/sbA/labels.csv
truth.csv names what each meter is (home, heatpump, ev, shop:<profile>, workshop:<profile>:<kW>:<onset day>).
Environment: START (dd.mm of 2016, best a Monday), DAYS (42), SEED (1), SHOPK (1.6), WKVA (a
contract for every workshop flat instead of 6, 8 or 10 kVA).
"""
import csv, os, sys, random, datetime
SB = os.environ.get('SIMBENCH_PROFILES', '/tmp/sb/x/simbench/networks/1-complete_data-mixed-all-0-sw/LoadProfile.csv')
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
seed = int(os.environ.get('SEED', '1')); R = random.Random(seed)
start = os.environ.get('START', '03.10')  # a Monday in 2016 is best
ndays = int(os.environ.get('DAYS', '42'))
d0 = datetime.date(2016, int(start[3:5]), int(start[0:2]))
pad = 21  # room for household day offsets
lo = d0 - datetime.timedelta(days=pad); hi = d0 + datetime.timedelta(days=ndays + pad)
byday = {}  # the SimBench day -> its 96 rows
with open(SB) as f:
    r = csv.reader(f, delimiter=';'); h = next(r)
    idx = {c[:-6]: i for i, c in enumerate(h) if c.endswith('_pload')}
    for row in r:
        d = datetime.datetime.strptime(row[0], '%d.%m.%Y %H:%M').date()
        if lo <= d < hi: byday.setdefault(d, []).append(row)
def prof(name, day):  # 96 values for a SimBench day
    return [max(0.0, float(x[idx[name]] or 0)) for x in byday[day]][:96]
def series(name, offset_days=0):
    return [prof(name, d0 + datetime.timedelta(days=i + offset_days)) for i in range(ndays)]
def scale_peak(s, kw):
    m = max(max(d) for d in s) or 1
    return [[v * kw / m for v in d] for d in s]
def scale_mean_day(s, kwh):
    m = sum(sum(d) for d in s) / len(s) * 0.25 or 1
    return [[v * kwh / m for v in d] for d in s]
def add(a, b): return [[x + y for x, y in zip(p, q)] for p, q in zip(a, b)]
def noise(s): return [[max(0.0, v * R.uniform(0.85, 1.15)) for v in d] for d in s]
H0 = [k for k in idx if k.startswith('H0-')]
HP = [k for k in idx if k.startswith('Air_') or k.startswith('Soil_')]
EV = [k for k in idx if k.startswith('HLS_') and not k.endswith('22.0')]
SHOP = ['G0-A', 'G1-A', 'G1-B', 'G2-A', 'G4-A', 'G4-B', 'G6-A', 'G0-M', 'G4-M']
WORK = ['G0-A', 'G1-A', 'G1-C', 'G3-A', 'G3-M', 'G5-A', 'G4-H', 'L0-A', 'L1-A', 'L2-A', 'G2-A', 'G0-M']
streets = ['东街道', '西街道', '南街道', '北街道']
def home():
    return scale_mean_day(series(R.choice(H0), R.choice([-21, -14, -7, 0, 7, 14, 21])), R.uniform(5, 16))
meters, labels = [], []
data = {}
n = 0
def mid(): 
    global n; n += 1; return '99%011d' % n
for i in range(300):
    m = mid(); data[m] = noise(home()); meters.append((m, streets[i % 4], 'resident', R.choice([6, 8, 8, 10]), 'home'))
for i in range(20):
    m = mid(); hp = scale_peak(series(R.choice(HP)), R.uniform(2, 5)); data[m] = noise(add(home(), hp)); meters.append((m, streets[i % 4], 'resident', R.choice([8, 10, 12]), 'heatpump'))
for i in range(20):
    m = mid(); e = R.choice(EV); ev = [[v * float(e.split('_')[2]) for v in d] for d in series(e)]; data[m] = noise(add(home(), ev)); meters.append((m, streets[i % 4], 'resident', R.choice([8, 10, 12]), 'ev'))
for i in range(40):
    m = mid(); p = R.choice(SHOP); kw = R.uniform(4, 25); data[m] = noise(scale_peak(series(p), kw)); meters.append((m, streets[i % 4], 'commercial', max(10, 5 * round(kw * float(os.environ.get('SHOPK', '1.6')) / 5)), 'shop:' + p))
for i in range(40):
    m = mid(); p = WORK[i % len(WORK)]; kw = R.uniform(3, 15)
    w = scale_peak(series(p), kw)
    onset = 0 if i % 2 == 0 else R.randint(10, 30)
    for k in range(onset): w[k] = [0.0] * 96
    data[m] = noise(add(home(), w)); meters.append((m, streets[i % 4], 'resident', int(os.environ.get('WKVA', '0')) or R.choice([6, 8, 10]), f'workshop:{p}:{kw:.1f}:{onset}'))
    labels.append((m, 'workshop', (d0 + datetime.timedelta(days=onset + 3654)).isoformat()))
with open(f'{out}/meters.csv', 'w') as f:
    f.write('meter_id,account_name,address,street,community,category,contract_kva\n')
    for m, s, c, k, _ in meters: f.write(f'{m},户{m[-4:]},地址{m[-4:]},{s},{s}1社区,{c},{k}\n')
with open(f'{out}/truth.csv', 'w') as f:
    for m, s, c, k, t in meters: f.write(f'{m},{s},{c},{k},{t}\n')
with open(f'{out}/sites.csv', 'w') as f:
    f.write('case_no,meter_id,site_name,address,street,measure,status,power_cut_at,halt_ordered_at\n')
with open(f'{out}/labels.csv', 'w') as f:
    f.write('meter_id,kind,onset\n')
    for m, k, o in labels: f.write(f'{m},{k},{o}\n')
with open(f'{out}/readings-wide.csv', 'w') as f:
    f.write('meter_id,date,' + ','.join(f'p{i}' for i in range(1, 97)) + '\n')
    for m, s in data.items():
        for i, d in enumerate(s):
            day = d0 + datetime.timedelta(days=i + 3654)
            f.write(f'{m},{day.isoformat()},' + ','.join(f'{v * 0.25:.3f}' for v in d) + '\n')
print('meters', len(meters), 'days', ndays, 'from', (d0 + datetime.timedelta(days=3654)).isoformat())
