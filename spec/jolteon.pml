/*
 * spec/jolteon.pml: the safety rules of itmo-ledger's consensus (2-chain HotStuff, Jolteon /
 * DiemBFT v4) as a SPIN model, checked exhaustively for n = 4 validators, one of them byzantine,
 * within bounded rounds and blocks. Written from the protocol (docs/consensus.md, the paper), not
 * from consensus/.
 *
 * What is modelled:
 *   - Blocks: a round, a parent, and the justification a voter sees: the parent's QC, and
 *     optionally a TC for round - 1 (its highest QC round is what the lock rule reads).
 *   - Proposers are unconstrained: any replica may propose any number of blocks in any round on
 *     any certified parent with a lower round (a superset of what one byzantine leader can do;
 *     safety must not depend on leaders).
 *   - Votes and timeouts of the three honest replicas follow SafetyRules exactly:
 *       vote for B (round r, parent P):  r > last_voted_round, and r == P.round + 1, or B carries
 *         TC(r - 1) and P.round >= the TC's highest QC round;
 *         then last_voted_round = r, one_chain_round = max(one_chain_round, P.round).
 *       timeout for r with high QC q:  r >= last_voted_round, r > highest_timeout_round,
 *         r == q + 1 or a TC for r - 1 exists, q >= one_chain_round, and a QC of round q exists;
 *         then last_voted_round = max(last_voted_round, r), highest_timeout_round = r,
 *         one_chain_round = max(one_chain_round, q).
 *     Message delivery is abstract: any honest replica may act on any block or certificate that
 *     exists, at any time, in any order (loss, delay and reordering included).
 *   - The byzantine replica (BYZ) votes for every block and signs timeouts for every round with
 *     the genesis QC (the lowest high QC it can show, the most permissive for the lock rule).
 *   - A QC for B exists when Q replicas voted for B; a TC for round t when Q replicas signed a
 *     timeout for t; a TC's highest QC round is chosen by whoever assembles it, from any Q of them.
 *   - Commit (2-chain rule): B is committed when B and a child C of B with C.round == B.round + 1
 *     both have QCs; committing B commits its ancestors.
 *
 * Property (agreement): any two committed blocks lie on one chain (asserted after every step).
 *
 * Mutants (each must produce an assertion violation): -DWEAK_LOCK (votes ignore the TC's highest
 * QC round), -DWEAK_QUORUM (Q = 2), -DWEAK_TIMEOUT_LOCK (timeouts ignore one_chain_round),
 * -DWEAK_LAST_VOTED (votes again in a round already voted in), -DWEAK_TIMEOUT_ROUND (a timeout
 * does not raise last_voted_round). Run: spec/check.sh (docs/formal-model.md).
 */

#define N 4
#define BYZ 3
#ifdef WEAK_QUORUM
#define Q 2
#else
#define Q 3
#endif
#ifndef ROUNDS
#define ROUNDS 4
#endif
#ifndef BLOCKS
#define BLOCKS 6 /* Slots, genesis (slot 0, round 0) included. */
#endif

typedef Block {
  byte round;
  byte parent;
  bool has_tc;   /* Carries a TC for round - 1. */
  byte tc_high;  /* That TC's highest QC round. */
};

Block blk[BLOCKS];
byte nblk = 1;
byte votes[BLOCKS];          /* Bitmask of the replicas that voted for each block. */
byte tmo[(ROUNDS + 1) * N];  /* Honest timeouts: high QC round + 1, 0 = none. */

/* Honest replicas' SafetyState. */
byte last_voted[N];
byte one_chain[N];
byte highest_timeout[N];

#define BIT(i) (1 << (i))
#define COUNT(m) ((((m) >> 0) & 1) + (((m) >> 1) & 1) + (((m) >> 2) & 1) + (((m) >> 3) & 1))
#define CERTIFIED(b) ((b) == 0 || COUNT(votes[b]) >= Q)
#define TMO(t, i) tmo[(t) * N + (i)]

/* Whether a QC of round q exists. */
inline qc_round_exists(q, result) {
  result = false;
  k = 0;
  do
  :: k < nblk -> if :: blk[k].round == q && CERTIFIED(k) -> result = true :: else -> skip fi; k++
  :: else -> break
  od
}

/* Whether a TC for round t exists (Q signers: honest timeouts plus the byzantine one). */
inline tc_exists(t, result) {
  result = ((TMO(t, 0) > 0) + (TMO(t, 1) > 0) + (TMO(t, 2) > 0) + 1 >= Q)
}

/* Whether block a is b or an ancestor of b. */
inline extends(b, a, result) {
  x = b;
  do
  :: x == a -> result = true; break
  :: x != a && x == 0 -> result = false; break
  :: x != a && x != 0 && blk[x].round <= blk[a].round -> result = false; break
  :: x != a && x != 0 && blk[x].round > blk[a].round -> x = blk[x].parent
  od
}

/* Whether block b is directly committed: b and a child of the next round have QCs. */
inline committed(b, result) {
  result = false;
  if
  :: CERTIFIED(b) ->
     y = 1;
     do
     :: y < nblk -> if
                    :: blk[y].parent == b && blk[y].round == blk[b].round + 1 && CERTIFIED(y) ->
                       result = true
                    :: else -> skip
                    fi; y++
     :: else -> break
     od
  :: else -> skip
  fi
}

inline check_agreement() {
  b1 = 0;
  do
  :: b1 < nblk ->
     committed(b1, c1);
     if
     :: c1 ->
        b2 = b1 + 1;
        do
        :: b2 < nblk ->
           committed(b2, c2);
           if
           :: c2 ->
              extends(b1, b2, e1);
              extends(b2, b1, e2);
              assert(e1 || e2);
           :: else -> skip
           fi;
           b2++
        :: else -> break
        od
     :: else -> skip
     fi;
     b1++
  :: else -> break
  od
}

/* Scratch variables of one step. Every step is one d_step (a single transition, no intermediate
   states) that assigns them before reading them, so they can stay out of the state vector. */
hidden byte high, k, x, y, b1, b2, vr, p;
hidden byte ok, c1, c2, e1, e2, exists;  /* Booleans (bits cannot be hidden). */

/* Symmetry reduction: the three honest replicas play identical roles (every step is enumerated for
   each of them and every pair of them), so states that differ only by a permutation of them are
   equivalent. After each step that changes an honest replica, the replicas are sorted by their
   whole column (SafetyState, then their vote bit of each block, then their timeout of each round),
   so that SPIN stores one state per equivalence class. */
hidden byte cmp, sw, t0;
inline compare(a, c) {  /* cmp: 0 if column a < column c or equal, 1 if greater. */
  cmp = 2;  /* Undecided. */
  if
  :: last_voted[a] != last_voted[c] -> cmp = (last_voted[a] > last_voted[c] -> 1 : 0)
  :: else -> skip
  fi;
  if
  :: cmp == 2 && one_chain[a] != one_chain[c] -> cmp = (one_chain[a] > one_chain[c] -> 1 : 0)
  :: else -> skip
  fi;
  if
  :: cmp == 2 && highest_timeout[a] != highest_timeout[c] ->
     cmp = (highest_timeout[a] > highest_timeout[c] -> 1 : 0)
  :: else -> skip
  fi;
  k = 1;
  do
  :: cmp == 2 && k < BLOCKS ->
     if
     :: ((votes[k] >> a) & 1) != ((votes[k] >> c) & 1) -> cmp = (votes[k] >> a) & 1
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  k = 1;
  do
  :: cmp == 2 && k <= ROUNDS ->
     if
     :: TMO(k, a) != TMO(k, c) -> cmp = (TMO(k, a) > TMO(k, c) -> 1 : 0)
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  if :: cmp == 2 -> cmp = 0 :: else -> skip fi
}
inline swap(a, c) {
  t0 = last_voted[a]; last_voted[a] = last_voted[c]; last_voted[c] = t0;
  t0 = one_chain[a]; one_chain[a] = one_chain[c]; one_chain[c] = t0;
  t0 = highest_timeout[a]; highest_timeout[a] = highest_timeout[c]; highest_timeout[c] = t0;
  k = 1;
  do
  :: k < BLOCKS ->
     sw = ((votes[k] >> a) & 1) != ((votes[k] >> c) & 1);
     if :: sw -> votes[k] = votes[k] ^ (BIT(a) | BIT(c)) :: else -> skip fi;
     k++
  :: else -> break
  od;
  k = 1;
  do
  :: k <= ROUNDS -> t0 = TMO(k, a); TMO(k, a) = TMO(k, c); TMO(k, c) = t0; k++
  :: else -> break
  od
}
inline sort2(a, c) {
  compare(a, c);
  if :: cmp == 1 -> swap(a, c) :: else -> skip fi
}
inline canonicalize() {
#ifndef NO_SYMMETRY
  sort2(0, 1); sort2(1, 2); sort2(0, 1)
#else
  skip
#endif
}

/* The lowest highest-QC round of any TC for round t that can be assembled now (from any two honest
   signers, or under WEAK_QUORUM any one, plus the byzantine one, whose genesis QC never raises the
   maximum); ok = false when no TC for t exists. */
inline min_tc_high(t, high, ok) {
  ok = false;
  high = 255;
  if
  :: TMO(t, 0) > 0 && TMO(t, 1) > 0 ->
     ok = true; x = (TMO(t, 0) > TMO(t, 1) -> TMO(t, 0) : TMO(t, 1)) - 1;
     if :: x < high -> high = x :: else -> skip fi
  :: else -> skip
  fi;
  if
  :: TMO(t, 0) > 0 && TMO(t, 2) > 0 ->
     ok = true; x = (TMO(t, 0) > TMO(t, 2) -> TMO(t, 0) : TMO(t, 2)) - 1;
     if :: x < high -> high = x :: else -> skip fi
  :: else -> skip
  fi;
  if
  :: TMO(t, 1) > 0 && TMO(t, 2) > 0 ->
     ok = true; x = (TMO(t, 1) > TMO(t, 2) -> TMO(t, 1) : TMO(t, 2)) - 1;
     if :: x < high -> high = x :: else -> skip fi
  :: else -> skip
  fi;
#ifdef WEAK_QUORUM
  x = 0;
  do
  :: x < 3 -> if :: TMO(t, x) > 0 && TMO(t, x) - 1 < high -> high = TMO(t, x) - 1; ok = true
              :: else -> skip fi; x++
  :: else -> break
  od;
#endif
  x = 0
}

/* Propose a block of round r on parent p0: with no TC when r is p0's round + 1, else with the most
   permissive TC for round r - 1 that exists now (the lowest highest-QC round: any other TC only
   makes fewer votes possible, so it adds no behaviour). An exact duplicate of an existing block is
   not created (it could only split votes). */
inline propose(p0, r) {
  d_step {
    r <= ROUNDS && nblk < BLOCKS && p0 < nblk && CERTIFIED(p0) && r > blk[p0].round;
    ok = true;
    high = 0;
    e1 = false;
    if
    :: r == blk[p0].round + 1 -> skip
    :: else -> min_tc_high(r - 1, high, ok); e1 = true
    fi;
    k = 1;
    do
    :: ok && k < nblk ->
       if
       :: blk[k].round == r && blk[k].parent == p0 && blk[k].has_tc == e1 &&
          blk[k].tc_high == high -> ok = false
       :: else -> skip
       fi;
       k++
    :: else -> break
    od;
    if
    :: ok ->
       blk[nblk].round = r;
       blk[nblk].parent = p0;
       blk[nblk].has_tc = e1;
       blk[nblk].tc_high = high;
       votes[nblk] = BIT(BYZ);  /* The byzantine replica votes for everything. */
       nblk++;
       check_agreement()
    :: else -> skip
    fi;
    high = 0; e1 = false; k = 0
  }
}

/* Honest replica i votes for block b0 if SafetyRules allow it. */
inline vote(i, b0) {
  d_step {
    b0 < nblk && (votes[b0] & BIT(i)) == 0;
    vr = blk[b0].round;
    p = blk[b0].parent;
#ifdef WEAK_LAST_VOTED
    ok = vr >= last_voted[i];
#else
    ok = vr > last_voted[i];
#endif
#ifdef WEAK_LOCK
    ok = ok && (vr == blk[p].round + 1 || blk[b0].has_tc);
#else
    ok = ok && (vr == blk[p].round + 1 || (blk[b0].has_tc && blk[p].round >= blk[b0].tc_high));
#endif
    if
    :: ok ->
       votes[b0] = votes[b0] | BIT(i);
       last_voted[i] = vr;
       if :: blk[p].round > one_chain[i] -> one_chain[i] = blk[p].round :: else -> skip fi;
       check_agreement();
       canonicalize()
    :: else -> skip
    fi
  }
}

#ifdef WEAK_TIMEOUT_LOCK
#define TIMEOUT_LOCK(i, q) true
#define TIMEOUT_LOCK_FLOOR(i) 0
#else
#define TIMEOUT_LOCK(i, q) (q >= one_chain[i])
#define TIMEOUT_LOCK_FLOOR(i) one_chain[i]
#endif

/* Honest replica i signs a timeout for round r with high QC round q if SafetyRules allow it. */
inline sign_timeout(i, r, q) {
  d_step {
    r <= ROUNDS && q < r && r >= last_voted[i] && r > highest_timeout[i] && TIMEOUT_LOCK(i, q);
    qc_round_exists(q, exists);
    ok = exists;
    /* Only the most permissive high QC (the lowest the replica may show) and q = r - 1 (which needs
       no TC for r - 1): a higher q only raises one_chain_round and the TC's highest QC round, so it
       adds no behaviour. */
    if
    :: ok && q + 1 != r ->
       vr = TIMEOUT_LOCK_FLOOR(i);
       do
       :: vr < q -> qc_round_exists(vr, exists); if :: exists -> ok = false; break :: else -> vr++ fi
       :: else -> break
       od
    :: else -> skip
    fi;
    if
    :: ok && r != q + 1 -> tc_exists(r - 1, ok)
    :: else -> skip
    fi;
    if
    :: ok ->
       TMO(r, i) = q + 1;
#ifndef WEAK_TIMEOUT_ROUND
       if :: r > last_voted[i] -> last_voted[i] = r :: else -> skip fi;
#endif
       highest_timeout[i] = r;
       if :: q > one_chain[i] -> one_chain[i] = q :: else -> skip fi;
       canonicalize()
    :: else -> skip
    fi
  }
}

/* The alternatives of one step, enumerated (no select loops: each is one transition). A refused
   choice either is not enabled (its guard is false) or leaves the state unchanged. */
#define PROPOSE_P(p0) :: propose(p0, 1) :: propose(p0, 2) :: propose(p0, 3) :: propose(p0, 4) \
                      :: propose(p0, 5)
#define VOTE_I(i) :: vote(i, 1) :: vote(i, 2) :: vote(i, 3) :: vote(i, 4) :: vote(i, 5) :: vote(i, 6)
#define TIMEOUT_R(i, r) :: sign_timeout(i, r, 0) :: sign_timeout(i, r, 1) :: sign_timeout(i, r, 2) \
                        :: sign_timeout(i, r, 3) :: sign_timeout(i, r, 4)
#define TIMEOUT_I(i) TIMEOUT_R(i, 1) TIMEOUT_R(i, 2) TIMEOUT_R(i, 3) TIMEOUT_R(i, 4) TIMEOUT_R(i, 5)

active proctype world() {
end_steps:  /* The loop may stop when no step is enabled (bounds reached): a valid end state. */
  do
  PROPOSE_P(0) PROPOSE_P(1) PROPOSE_P(2) PROPOSE_P(3) PROPOSE_P(4)
  VOTE_I(0) VOTE_I(1) VOTE_I(2)
  TIMEOUT_I(0) TIMEOUT_I(1) TIMEOUT_I(2)
  od
}
