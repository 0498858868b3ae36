// warden console: one dependency-free script, hash-routed, talking JSON to /console/api/*.
// Every piece of data from the server is put on the page with textContent or DOM nodes, never
// parsed as HTML.
'use strict';
(() => {
  const ECR_TARGET = 'AmazonEC2ContainerRegistry_V20150921.';
  const EXPIRED_NOTICE = 'Your session has expired. Sign in again.';
  const MANIFEST_TYPES = [
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    'application/vnd.docker.distribution.manifest.v1+json',
  ];
  const ECR_ACTIONS = [
    'ecr:BatchCheckLayerAvailability', 'ecr:BatchDeleteImage', 'ecr:BatchGetImage',
    'ecr:CompleteLayerUpload', 'ecr:CreateRepository', 'ecr:DeleteLifecyclePolicy',
    'ecr:DeleteRepository', 'ecr:DeleteRepositoryPolicy', 'ecr:DescribeImages',
    'ecr:DescribeRepositories', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer',
    'ecr:GetLifecyclePolicy', 'ecr:GetLifecyclePolicyPreview', 'ecr:GetRepositoryPolicy',
    'ecr:InitiateLayerUpload', 'ecr:ListImages', 'ecr:ListTagsForResource', 'ecr:PutImage',
    'ecr:PutImageScanningConfiguration', 'ecr:PutImageTagMutability', 'ecr:PutLifecyclePolicy',
    'ecr:SetRepositoryPolicy', 'ecr:StartLifecyclePolicyPreview', 'ecr:TagResource',
    'ecr:UntagResource', 'ecr:UploadLayerPart', 'ecr:*',
  ];
  const TRAIL_ATTRIBUTES = [
    ['EventName', 'Event name'], ['Username', 'User name'], ['ResourceName', 'Resource name'],
    ['ReadOnly', 'Read-only (true or false)'], ['EventSource', 'Event source'],
    ['AccessKeyId', 'Access key ID'], ['EventId', 'Event ID'],
  ];
  const FINDING_LABELS = {
    ERROR: 'Error', SECURITY_WARNING: 'Security warning', WARNING: 'Warning', SUGGESTION: 'Suggestion',
  };
  const REPO_TABS = ['images', 'policy', 'lifecycle'];
  const MAX_REPOSITORIES = 1000;
  const MAX_IMAGES = 10000;

  const state = {
    session: null, // the session JSON while signed in
    hadSession: false, // a 401 after this means "expired"
    gen: 0, // bumped on every render; late answers for an old page are dropped
    templates: null, // promise of GET /console/api/templates
    contentLinkAt: 0, // when a link inside the page was last followed
  };

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- DOM building

  function append(el, kids) {
    for (const kid of kids) {
      if (kid === null || kid === undefined || kid === false) continue;
      if (Array.isArray(kid)) append(el, kid);
      else if (kid instanceof Node) el.appendChild(kid);
      else el.appendChild(document.createTextNode(String(kid)));
    }
    return el;
  }

  // h('tag', {class, text, for, onclick: fn, 'data-x': v, ...}, ...children)
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = String(v);
        else if (k === 'for') el.htmlFor = v;
        else if (k === 'value') el.value = v;
        else if (k === 'checked') el.checked = true;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    return append(el, kids);
  }

  function field(id, labelText, control, hint) {
    const hintId = hint ? id + '-hint' : null;
    if (hintId) {
      const prior = control.getAttribute('aria-describedby');
      control.setAttribute('aria-describedby', prior ? hintId + ' ' + prior : hintId);
    }
    return h('div', { class: 'field' },
      h('label', { for: id, text: labelText }),
      hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
      control);
  }

  function tableWrap(table, label) {
    // A focusable scroll region, so keyboard users can scroll a wide table on a narrow window.
    return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label }, table);
  }

  function thead(names) {
    return h('thead', null, h('tr', null, names.map((n) => h('th', { scope: 'col', text: n }))));
  }

  function emptyRow(colspan, text) {
    return h('tr', { class: 'empty-row' }, h('td', { colspan: String(colspan), text }));
  }

  function setText(el, text) {
    if (el) el.textContent = text || '';
  }

  function toDate(v) {
    if (v === null || v === undefined || v === '') return null;
    if (typeof v === 'number') return new Date(v * 1000);
    if (/^\d+(\.\d+)?$/.test(String(v))) return new Date(Number(v) * 1000);
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function timeEl(v) {
    const d = toDate(v);
    if (!d) return h('span', { class: 'muted', text: '—' });
    const iso = d.toISOString();
    return h('time', { datetime: iso, title: iso, text: d.toLocaleString() });
  }

  function humanBytes(n) {
    if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i += 1;
    }
    if (i === 0) return n === 1 ? '1 byte' : n + ' bytes';
    return (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)) + ' ' + units[i];
  }

  function sizeEl(n) {
    if (typeof n !== 'number') return h('span', { class: 'muted', text: '—' });
    return h('span', { class: 'size', title: n.toLocaleString('en-US') + ' bytes', text: humanBytes(n) });
  }

  function shortDigest(d) {
    const s = String(d || '');
    return s.startsWith('sha256:') ? s.slice(0, 19) + '…' : s;
  }

  function repoHash(name, tab) {
    return '#/repository/' + encodeURIComponent(name) + (tab ? '/' + tab : '');
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---------------------------------------------------------------- talking to the server

  class ApiError extends Error {
    constructor(type, message, status, handled) {
      super(message || type || 'The request failed.');
      this.type = type || '';
      this.status = status || 0;
      this.handled = !!handled; // a 401: the sign-in form is already showing
    }
  }

  function errorType(t) {
    if (!t) return '';
    let s = String(t);
    if (s.includes('#')) s = s.slice(s.lastIndexOf('#') + 1);
    if (s.includes(':')) s = s.slice(0, s.indexOf(':'));
    return s;
  }

  async function request(method, path, body, headers) {
    const h2 = Object.assign({}, headers || {});
    if (method !== 'GET' && state.session && state.session.csrfToken) {
      h2['X-Warden-Csrf'] = state.session.csrfToken;
    }
    let res;
    try {
      res = await fetch(path, {
        method, credentials: 'same-origin', headers: h2, body, cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError('NetworkError', 'Could not reach the registry. Check your connection and try again.', 0);
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (res.status === 401) {
      const type = errorType(data && (data.__type || data.code));
      sessionLost(type);
      throw new ApiError(type || 'Unauthorized', (data && data.message) || 'Sign in again.', 401, true);
    }
    if (!res.ok) {
      const type = errorType(data && (data.__type || data.code || data.Code));
      const message = data && (data.message || data.Message);
      throw new ApiError(type || 'HTTP ' + res.status,
        message || type || 'The request failed (' + res.status + ' ' + res.statusText + ').', res.status);
    }
    return data || {};
  }

  function ecr(operation, body) {
    return request('POST', '/console/api/ecr', JSON.stringify(body || {}), {
      'X-Amz-Target': ECR_TARGET + operation,
      'Content-Type': 'application/x-amz-json-1.1',
    });
  }

  function api(path, body) {
    return request('POST', '/console/api/' + path, JSON.stringify(body || {}), {
      'Content-Type': 'application/json',
    });
  }

  function templates() {
    if (!state.templates) {
      state.templates = request('GET', '/console/api/templates').catch((e) => {
        state.templates = null;
        throw e;
      });
    }
    return state.templates;
  }

  // Shows the error next to what caused it; the server's message verbatim.
  function showError(el, err) {
    if (!el) return;
    if (err && err.handled) return;
    const msg = err instanceof Error ? err.message : String(err || '');
    el.textContent = msg;
    if (err && err.type) el.setAttribute('data-error-type', err.type);
    else el.removeAttribute('data-error-type');
  }

  function clearError(el) {
    if (!el) return;
    el.textContent = '';
    el.removeAttribute('data-error-type');
  }

  async function describeAllImages(repositoryName) {
    const out = [];
    let nextToken;
    do {
      const body = { repositoryName, maxResults: 1000 };
      if (nextToken) body.nextToken = nextToken;
      const r = await ecr('DescribeImages', body);
      out.push(...(r.imageDetails || []));
      nextToken = r.nextToken;
    } while (nextToken && out.length < MAX_IMAGES);
    return out;
  }

  function pushedAtMs(img) {
    const d = toDate(img.imagePushedAt);
    return d ? d.getTime() : 0;
  }

  // ---------------------------------------------------------------- session and sign-in

  function setSignedInChrome(on) {
    $('site-nav').hidden = !on;
    $('account').hidden = !on;
    $('view').hidden = !on;
    $('signin-view').hidden = on;
  }

  function showSignin(notice) {
    state.gen += 1; // drop answers for the page that was showing
    const already = !$('signin-view').hidden;
    setSignedInChrome(false);
    $('page-loading').hidden = true;
    $('view').replaceChildren();
    setText($('whoami'), '');
    clearError($('page-error'));
    setText($('signin-notice'), notice || '');
    if (!already) {
      clearError($('signin-error'));
      document.title = 'Sign in · warden console';
      const akid = $('access-key-id');
      if (akid) akid.focus();
    }
  }

  function sessionLost(type) {
    const expired = state.hadSession || state.session !== null || type === 'ExpiredTokenException';
    state.session = null;
    showSignin(expired ? EXPIRED_NOTICE : '');
  }

  function showApp(session, fromSignin) {
    state.session = session;
    state.hadSession = true;
    state.templates = null;
    $('page-loading').hidden = true;
    setText($('whoami'), session.principal || '');
    $('whoami').title = [session.account && 'Account ' + session.account, session.region]
      .filter(Boolean).join(', ');
    setText($('signin-notice'), '');
    clearError($('signin-error'));
    setSignedInChrome(true);
    render(!fromSignin);
  }

  async function onSignin(ev) {
    ev.preventDefault();
    const errEl = $('signin-error');
    clearError(errEl);
    const akidEl = $('access-key-id');
    const secretEl = $('secret-access-key');
    const tokenEl = $('registry-token');
    let body;
    if (tokenEl.value.trim()) {
      body = { registryToken: tokenEl.value.trim() };
    } else if (akidEl.value.trim() && secretEl.value) {
      body = { accessKeyId: akidEl.value.trim(), secretAccessKey: secretEl.value };
    } else {
      errEl.textContent = 'Enter an access key ID and its secret access key, or a registry token.';
      (akidEl.value.trim() ? secretEl : akidEl).focus();
      return;
    }
    const button = $('signin-submit');
    button.disabled = true;
    const pending = fetch('/console/api/signin', {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    body = null;
    // The secrets live in the password inputs only until the request is on its way.
    secretEl.value = '';
    tokenEl.value = '';
    try {
      const res = await pending;
      let data = null;
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
      if (res.ok && data && data.principal) {
        showApp(data, true);
        return;
      }
      errEl.textContent = (data && data.message) || 'Sign-in failed (' + res.status + ').';
      secretEl.focus();
    } catch (e) {
      errEl.textContent = 'Could not reach the registry. Check your connection and try again.';
    } finally {
      secretEl.value = '';
      tokenEl.value = '';
      button.disabled = false;
    }
  }

  async function onSignout() {
    const button = $('signout');
    button.disabled = true;
    try {
      const headers = {};
      if (state.session && state.session.csrfToken) headers['X-Warden-Csrf'] = state.session.csrfToken;
      await fetch('/console/api/signout', { method: 'POST', credentials: 'same-origin', headers });
    } catch (e) {
      // Signed out locally either way.
    } finally {
      button.disabled = false;
    }
    state.session = null;
    state.hadSession = false;
    showSignin('You have signed out.');
  }

  // ---------------------------------------------------------------- confirmation dialog

  function confirmAction({ title, text, okLabel, force }) {
    const d = $('confirm');
    setText($('confirm-title'), title || 'Are you sure?');
    setText($('confirm-text'), text);
    setText($('confirm-ok'), okLabel || 'Delete');
    $('confirm-force-field').hidden = !force;
    $('confirm-force').checked = false;
    if (typeof d.showModal !== 'function') {
      // eslint-disable-next-line no-alert
      return Promise.resolve(window.confirm(text) ? { force: false } : null);
    }
    d.returnValue = '';
    return new Promise((resolve) => {
      const onClose = () => {
        d.removeEventListener('close', onClose);
        resolve(d.returnValue === 'ok' ? { force: !!force && $('confirm-force').checked } : null);
      };
      d.addEventListener('close', onClose);
      d.showModal();
      $('confirm-cancel').focus(); // the safest button
    });
  }

  // ---------------------------------------------------------------- routing

  function safeDecode(s) {
    try {
      return decodeURIComponent(s);
    } catch (e) {
      return s;
    }
  }

  function parseRoute() {
    const hash = location.hash || '';
    if (!hash.startsWith('#/')) return null;
    let path = hash.slice(1);
    let query = '';
    const q = path.indexOf('?');
    if (q >= 0) {
      query = path.slice(q + 1);
      path = path.slice(0, q);
    }
    const params = new URLSearchParams(query);
    const parts = path.split('/').slice(1);
    while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    switch (parts[0]) {
      case 'repositories': return { page: 'repositories', params };
      case 'simulate': return { page: 'simulate', params };
      case 'trail': return { page: 'trail', params };
      case 'who-can': return { page: 'who-can', params };
      case 'repository': {
        const rest = parts.slice(1);
        let tab = 'images';
        if (rest.length > 1 && REPO_TABS.includes(rest[rest.length - 1])) tab = rest.pop();
        const name = rest.map(safeDecode).join('/');
        if (!name) return null;
        return { page: 'repository', name, tab, params };
      }
      default: return { page: 'not-found', params };
    }
  }

  const NAV = {
    repositories: 'nav-repositories', repository: 'nav-repositories', simulate: 'nav-simulate',
    trail: 'nav-trail', 'who-can': 'nav-who-can',
  };

  function render(first) {
    if (!state.session) return;
    let route = parseRoute();
    if (!route) {
      history.replaceState(null, '', '#/repositories');
      route = parseRoute();
    }
    const active = document.activeElement;
    const refocusTab = !first && active && /^tab-/.test(active.id || '') ? active.id : null;
    const inHeader = !!active && $('site-header').contains(active);
    const fromContent = Date.now() - state.contentLinkAt < 1000;
    state.contentLinkAt = 0;
    state.gen += 1;
    const gen = state.gen;
    clearError($('page-error'));
    for (const id of Object.values(NAV)) {
      const a = $(id);
      if (a.id === NAV[route.page]) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const view = $('view');
    view.replaceChildren();
    const pages = {
      repositories: renderRepositories, repository: renderRepository, simulate: renderSimulate,
      trail: renderTrail, 'who-can': renderWhoCan, 'not-found': renderNotFound,
    };
    pages[route.page](view, route, gen);
    if (!first) {
      // A link in the page (a repository, a tab) leads to the new page's heading; the navigation
      // keeps its focus; anything else starts again from the top, as a page load does.
      const again = refocusTab && $(refocusTab);
      const heading = view.querySelector('h1');
      if (again) again.focus();
      else if (fromContent && heading) heading.focus();
      else if (!inHeader) $('site-header').focus();
    }
  }

  const alive = (gen) => gen === state.gen && state.session !== null;

  function pageTitle(text) {
    document.title = text + ' · warden console';
  }

  function renderNotFound(view) {
    pageTitle('Not found');
    append(view, [
      h('h1', { tabindex: '-1', text: 'Page not found' }),
      h('p', null, 'There is no page at this address. ',
        h('a', { href: '#/repositories', text: 'Go to the repositories' }), '.'),
    ]);
  }

  // ---------------------------------------------------------------- repositories

  function parseKeyValueLines(text, what) {
    const pairs = [];
    const problems = [];
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (!line) return;
      const eq = line.indexOf('=');
      if (eq <= 0 || !line.slice(0, eq).trim()) {
        problems.push('Line ' + (i + 1) + ' (“' + line + '”) is not ' + what + '.');
        return;
      }
      pairs.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
    });
    return { pairs, problems };
  }

  function renderRepositories(view, route, gen) {
    pageTitle('Repositories');
    const listError = h('p', { id: 'repo-list-error', class: 'error', role: 'alert' });
    const status = h('p', { id: 'repo-list-status', class: 'status', role: 'status' });
    const filter = h('input', {
      id: 'repo-filter', type: 'search', autocomplete: 'off', spellcheck: 'false',
      placeholder: 'Part of a name',
    });
    const tbody = h('tbody');
    const table = h('table', { id: 'repo-table' },
      h('caption', { class: 'visually-hidden', text: 'Repositories' }),
      thead(['Name', 'URI', 'Tag mutability', 'Scan on push', 'Created', 'Actions']), tbody);
    let repos = [];
    let loaded = false;

    function draw() {
      const needle = filter.value.trim().toLowerCase();
      const shown = repos.filter((r) => !needle || String(r.repositoryName).toLowerCase().includes(needle));
      tbody.replaceChildren();
      for (const r of shown) {
        const name = r.repositoryName;
        const scan = r.imageScanningConfiguration && r.imageScanningConfiguration.scanOnPush;
        tbody.appendChild(h('tr', { 'data-repo': name },
          h('th', { scope: 'row' }, h('a', { class: 'repo-link', href: repoHash(name), text: name })),
          h('td', null, h('code', { class: 'uri', text: r.repositoryUri || '' })),
          h('td', { text: r.imageTagMutability || '—' }),
          h('td', { text: scan ? 'Yes' : 'No' }),
          h('td', { class: 'nowrap' }, timeEl(r.createdAt)),
          h('td', { class: 'actions-cell' }, h('button', {
            type: 'button', class: 'delete-repo button-danger-quiet', 'aria-label': 'Delete ' + name,
            text: 'Delete', onclick: () => deleteRepo(name),
          }))));
      }
      if (!loaded) return;
      if (!repos.length) tbody.appendChild(emptyRow(6, 'No repositories yet. Create one below.'));
      else if (!shown.length) tbody.appendChild(emptyRow(6, 'No repository name contains “' + filter.value.trim() + '”.'));
      status.textContent = needle
        ? 'Showing ' + shown.length + ' of ' + repos.length + ' repositories.'
        : repos.length + (repos.length === 1 ? ' repository.' : ' repositories.')
          + (repos.length >= MAX_REPOSITORIES ? ' Only the first ' + MAX_REPOSITORIES + ' are listed.' : '');
    }

    async function load() {
      status.textContent = 'Loading repositories…';
      const out = [];
      try {
        let nextToken;
        do {
          const body = { maxResults: 1000 };
          if (nextToken) body.nextToken = nextToken;
          const r = await ecr('DescribeRepositories', body);
          if (!alive(gen)) return;
          out.push(...(r.repositories || []));
          nextToken = r.nextToken;
        } while (nextToken && out.length < MAX_REPOSITORIES);
      } catch (e) {
        if (!alive(gen)) return;
        status.textContent = '';
        showError(listError, e);
        return;
      }
      repos = out.slice(0, MAX_REPOSITORIES)
        .sort((a, b) => String(a.repositoryName).localeCompare(String(b.repositoryName)));
      loaded = true;
      draw();
    }

    async function deleteRepo(name) {
      clearError(listError);
      const ok = await confirmAction({
        title: 'Delete repository',
        text: 'Delete the repository “' + name + '”? This cannot be undone. A repository that still holds images is deleted only if you also delete its images.',
        okLabel: 'Delete repository', force: true,
      });
      if (!ok || !alive(gen)) return;
      status.textContent = 'Deleting ' + name + '…';
      try {
        await ecr('DeleteRepository', { repositoryName: name, force: ok.force });
      } catch (e) {
        if (!alive(gen)) return;
        status.textContent = '';
        showError(listError, e);
        return;
      }
      if (!alive(gen)) return;
      repos = repos.filter((r) => r.repositoryName !== name);
      draw();
      status.textContent = 'Deleted the repository ' + name + '.';
      filter.focus();
    }

    filter.addEventListener('input', draw);

    // The create form.
    const nameInput = h('input', {
      id: 'new-repo-name', type: 'text', required: true, autocomplete: 'off', spellcheck: 'false',
      autocapitalize: 'off', placeholder: 'team/app',
    });
    const mutability = h('select', { id: 'new-repo-mutability' },
      h('option', { value: 'MUTABLE', text: 'Mutable — tags can be moved' }),
      h('option', { value: 'IMMUTABLE', text: 'Immutable — tags cannot be overwritten' }));
    const scan = h('input', { id: 'new-repo-scan', type: 'checkbox' });
    const tags = h('textarea', {
      id: 'new-repo-tags', rows: '3', spellcheck: 'false', autocapitalize: 'off',
      'aria-describedby': 'create-repo-error', placeholder: 'team=platform',
    });
    const createError = h('p', { id: 'create-repo-error', class: 'error', role: 'alert' });
    const createStatus = h('p', { id: 'create-repo-status', class: 'status', role: 'status' });
    const submit = h('button', { type: 'submit', id: 'create-repo-submit', class: 'button-primary', text: 'Create repository' });
    const form = h('form', { id: 'create-repo', class: 'form-grid', novalidate: true },
      h('div', null,
        field('new-repo-name', 'Name', nameInput, 'Lowercase letters, digits, and . _ - / separators.'),
        field('new-repo-mutability', 'Tag mutability', mutability),
        h('div', { class: 'field field-check' }, scan,
          h('label', { for: 'new-repo-scan', text: 'Scan images on push' }))),
      h('div', null,
        field('new-repo-tags', 'Tags (optional)', tags, 'One key=value per line, such as team=platform.')),
      createError,
      h('div', { class: 'actions' }, submit),
      createStatus);

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError(createError);
      setText(createStatus, '');
      tags.removeAttribute('aria-invalid');
      nameInput.removeAttribute('aria-invalid');
      const name = nameInput.value.trim();
      if (!name) {
        createError.textContent = 'Enter a name for the repository.';
        nameInput.setAttribute('aria-invalid', 'true');
        nameInput.focus();
        return;
      }
      const parsed = parseKeyValueLines(tags.value, 'key=value');
      if (parsed.problems.length) {
        createError.textContent = 'Tags: ' + parsed.problems.join(' ');
        tags.setAttribute('aria-invalid', 'true');
        tags.focus();
        return;
      }
      const body = {
        repositoryName: name,
        imageTagMutability: mutability.value,
        imageScanningConfiguration: { scanOnPush: scan.checked },
      };
      if (parsed.pairs.length) body.tags = parsed.pairs.map(([Key, Value]) => ({ Key, Value }));
      submit.disabled = true;
      try {
        await ecr('CreateRepository', body);
      } catch (e) {
        if (alive(gen)) showError(createError, e);
        return;
      } finally {
        submit.disabled = false;
      }
      if (!alive(gen)) return;
      form.reset();
      createStatus.textContent = 'Created the repository ' + name + '.';
      clearError(listError);
      load();
    });

    append(view, [
      h('div', { class: 'page-head' },
        h('h1', { tabindex: '-1', text: 'Repositories' }),
        h('p', { class: 'lede', text: 'The repositories of this registry. Choose one to see its images and policies.' })),
      h('section', { class: 'panel', 'aria-labelledby': 'repo-list-heading' },
        h('h2', { id: 'repo-list-heading', class: 'visually-hidden', text: 'All repositories' }),
        h('div', { class: 'field filter' }, h('label', { for: 'repo-filter', text: 'Filter by name' }), filter),
        listError, status,
        tableWrap(table, 'Repositories table')),
      h('section', { class: 'panel', 'aria-labelledby': 'create-repo-heading' },
        h('h2', { id: 'create-repo-heading', text: 'Create a repository' }), form),
    ]);
    load();
  }

  // ---------------------------------------------------------------- one repository

  function renderRepository(view, route, gen) {
    const name = route.name;
    const tab = route.tab;
    pageTitle(name + ' · ' + tab);
    const repoError = h('p', { id: 'repo-error', class: 'error', role: 'alert' });
    const summary = h('dl', { class: 'summary' });
    const accessNotice = h('p', { id: 'access-notice', class: 'notice', hidden: true });
    const tabLabels = { images: 'Images', policy: 'Repository policy', lifecycle: 'Lifecycle policy' };
    const tabs = h('nav', { class: 'tabs', 'aria-label': 'Repository sections' },
      h('ul', null, REPO_TABS.map((t) => h('li', null, h('a', {
        id: 'tab-' + t, href: repoHash(name, t), 'aria-current': t === tab ? 'page' : null, text: tabLabels[t],
      })))));
    const panel = h('section', { class: 'tab-panel', 'aria-labelledby': 'tab-' + tab });
    const enc = encodeURIComponent(name);
    append(view, [
      h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
        h('a', { href: '#/repositories', text: 'Repositories' }), h('span', { 'aria-hidden': 'true', class: 'sep', text: ' / ' }),
        h('span', { 'aria-current': 'page', text: name })),
      h('div', { class: 'page-head' },
        h('h1', { id: 'repo-name', tabindex: '-1', text: name }),
        h('p', { class: 'related' },
          h('a', { href: '#/simulate?repository=' + enc, text: 'Simulate access to this repository' }), ' · ',
          h('a', { href: '#/who-can?action=ecr%3APutImage&repository=' + enc, text: 'Who can push here' }))),
      summary, accessNotice, repoError, tabs, panel,
    ]);
    loadSummary(name, summary, gen);
    loadAccess(name, accessNotice, gen);
    if (tab === 'images') renderImagesTab(panel, name, gen, repoError);
    else if (tab === 'policy') renderPolicyTab(panel, name, gen);
    else renderLifecycleTab(panel, name, gen);
  }

  // What the signed-in user's own policies allow here, decided by the server as the API decides.
  // Buttons stay: trying shows the registry's refusal with AWS's reason.
  const WRITE_ACTIONS = {
    'ecr:PutImage': 'push or retag', 'ecr:BatchDeleteImage': 'delete images',
    'ecr:DeleteRepository': 'delete the repository', 'ecr:SetRepositoryPolicy': 'set its policy',
    'ecr:DeleteRepositoryPolicy': 'delete its policy', 'ecr:PutLifecyclePolicy': 'set its lifecycle policy',
    'ecr:DeleteLifecyclePolicy': 'delete its lifecycle policy', 'ecr:TagResource': 'tag it',
  };
  async function loadAccess(name, notice, gen) {
    let r;
    try {
      r = await api('access', { repositoryName: name });
    } catch (e) {
      return; // The notice is a courtesy; the registry still decides every call.
    }
    if (!alive(gen) || !r || !r.actions) return;
    const denied = Object.keys(WRITE_ACTIONS).filter((a) => r.actions[a] && r.actions[a] !== 'allowed');
    if (!denied.length) return;
    notice.hidden = false;
    if (denied.length === Object.keys(WRITE_ACTIONS).length) {
      notice.textContent = 'Read-only: your policies let you read this repository but change nothing here. ' +
        'What you try is refused with the reason AWS would give.';
      notice.classList.add('read-only');
    } else {
      notice.textContent = 'Your policies do not let you ' + denied.map((a) => WRITE_ACTIONS[a]).join(', ') + ' here.';
    }
  }

  async function loadSummary(name, summary, gen) {
    const item = (term, ...desc) => [h('dt', { text: term }), h('dd', null, ...desc)];
    let repo;
    try {
      const r = await ecr('DescribeRepositories', { repositoryNames: [name] });
      repo = (r.repositories || [])[0];
    } catch (e) {
      if (!alive(gen) || e.handled) return;
      summary.replaceChildren(...item('Details', h('span', { class: 'muted', text: e.message })));
      return;
    }
    if (!alive(gen) || !repo) return;
    const scan = repo.imageScanningConfiguration && repo.imageScanningConfiguration.scanOnPush;
    const tagsDd = h('span', { class: 'muted', text: 'Loading…' });
    summary.replaceChildren(
      ...item('URI', h('code', { text: repo.repositoryUri || '' })),
      ...item('Tag mutability', repo.imageTagMutability || '—'),
      ...item('Scan on push', scan ? 'Yes' : 'No'),
      ...item('Created', timeEl(repo.createdAt)),
      ...item('Tags', tagsDd));
    try {
      const t = await ecr('ListTagsForResource', { resourceArn: repo.repositoryArn });
      if (!alive(gen)) return;
      const list = t.tags || [];
      if (!list.length) tagsDd.replaceWith(h('span', { class: 'muted', text: 'none' }));
      else tagsDd.replaceWith(h('ul', { class: 'tags' }, list.map((x) => h('li', { class: 'tag', text: x.Key + '=' + x.Value }))));
    } catch (e) {
      if (!alive(gen) || e.handled) return;
      tagsDd.textContent = 'Not shown: ' + e.message;
    }
  }

  async function copyPull(code, button, statusEl) {
    const text = code.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
        setTimeout(() => { button.textContent = 'Copy'; }, 1500);
        statusEl.textContent = 'Copied: ' + text;
        return;
      } catch (e) {
        // Fall back to selecting the text.
      }
    }
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    statusEl.textContent = 'The command is selected: press Ctrl+C (⌘C on a Mac) to copy it.';
  }

  function renderImagesTab(panel, name, gen, repoError) {
    const status = h('p', { id: 'repo-status', class: 'status', role: 'status' });
    const tbody = h('tbody');
    const table = h('table', { id: 'image-table' },
      h('caption', { class: 'visually-hidden', text: 'Images in ' + name }),
      thead(['Tags', 'Digest', 'Size', 'Media type', 'Pushed at', 'Pull command', 'Actions']), tbody);
    const refresh = h('button', { type: 'button', class: 'button-secondary', text: 'Refresh', onclick: () => load() });
    append(panel, [
      h('div', { class: 'section-head' }, h('h2', { text: 'Images' }), refresh),
      status, tableWrap(table, 'Images table'),
    ]);

    function closeRetag() {
      const open = tbody.querySelector('tr.retag-row');
      if (open) open.remove();
    }

    function openRetag(img, row, button) {
      closeRetag();
      clearError(repoError);
      const digest = img.imageDigest;
      const input = h('input', { id: 'retag-tag', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', required: true });
      const submit = h('button', { type: 'submit', id: 'retag-submit', class: 'button-primary', text: 'Add tag' });
      const cancel = h('button', {
        type: 'button', class: 'button-secondary', text: 'Cancel',
        onclick: () => { closeRetag(); button.focus(); },
      });
      const form = h('form', { class: 'retag-form inline-form', novalidate: true },
        field('retag-tag', 'New tag for ' + shortDigest(digest), input,
          'The same image gets this tag too; an existing tag of that name moves here if the repository allows it.'),
        h('div', { class: 'actions' }, submit, cancel));
      form.addEventListener('keydown', (e) => {
        if (e.key === 'Escape') { closeRetag(); button.focus(); }
      });
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        clearError(repoError);
        const tag = input.value.trim();
        if (!tag) {
          repoError.textContent = 'Enter the new tag.';
          input.focus();
          return;
        }
        submit.disabled = true;
        status.textContent = 'Tagging ' + shortDigest(digest) + ' as ' + tag + '…';
        try {
          const got = await ecr('BatchGetImage', {
            repositoryName: name, imageIds: [{ imageDigest: digest }], acceptedMediaTypes: MANIFEST_TYPES,
          });
          const image = (got.images || [])[0];
          if (!image || !image.imageManifest) {
            const f = (got.failures || [])[0];
            throw new ApiError(f && f.failureCode, f ? f.failureCode + ': ' + f.failureReason
              : 'The registry did not return the manifest of ' + digest + '.');
          }
          const body = {
            repositoryName: name, imageManifest: image.imageManifest, imageTag: tag, imageDigest: digest,
          };
          const mt = image.imageManifestMediaType || img.imageManifestMediaType;
          if (mt) body.imageManifestMediaType = mt;
          await ecr('PutImage', body);
        } catch (e) {
          if (!alive(gen)) return;
          status.textContent = '';
          showError(repoError, e);
          submit.disabled = false;
          input.focus();
          return;
        }
        if (!alive(gen)) return;
        await load();
        if (!alive(gen)) return;
        status.textContent = 'Tagged ' + shortDigest(digest) + ' as ' + tag + '.';
      });
      const retagRow = h('tr', { class: 'retag-row' }, h('td', { colspan: '7' }, form));
      row.after(retagRow);
      input.focus();
    }

    async function deleteImage(img) {
      clearError(repoError);
      const digest = img.imageDigest;
      const tags = img.imageTags || [];
      const ok = await confirmAction({
        title: 'Delete image',
        text: 'Delete the image ' + digest + (tags.length ? ' (tags: ' + tags.join(', ') + ')' : ' (untagged)')
          + ' from ' + name + '? This cannot be undone.',
        okLabel: 'Delete image',
      });
      if (!ok || !alive(gen)) return;
      status.textContent = 'Deleting ' + shortDigest(digest) + '…';
      let r;
      try {
        r = await ecr('BatchDeleteImage', { repositoryName: name, imageIds: [{ imageDigest: digest }] });
      } catch (e) {
        if (!alive(gen)) return;
        status.textContent = '';
        showError(repoError, e);
        return;
      }
      if (!alive(gen)) return;
      const failures = r.failures || [];
      if (failures.length) {
        status.textContent = '';
        repoError.textContent = failures.map((f) => {
          const id = f.imageId ? (f.imageId.imageDigest || f.imageId.imageTag || '') : '';
          return (id ? id + ': ' : '') + (f.failureCode || 'Failure') + (f.failureReason ? ' — ' + f.failureReason : '');
        }).join('; ');
        return;
      }
      await load();
      if (!alive(gen)) return;
      status.textContent = 'Deleted the image ' + shortDigest(digest) + '.';
      const h1 = $('repo-name');
      if (h1) h1.focus();
    }

    function row(img) {
      const digest = img.imageDigest;
      const tags = img.imageTags || [];
      const host = location.host;
      const pulls = (tags.length ? tags.map((t) => ':' + t) : ['@' + digest])
        .map((suffix) => 'docker pull ' + host + '/' + name + suffix);
      const tr = h('tr', { 'data-digest': digest });
      const retag = h('button', { type: 'button', class: 'retag button-secondary', text: 'Add tag', 'aria-label': 'Add a tag to ' + shortDigest(digest) });
      retag.addEventListener('click', () => openRetag(img, tr, retag));
      append(tr, [
        h('td', { class: 'tags-cell' }, tags.length
          ? h('ul', { class: 'tags' }, tags.map((t) => h('li', { class: 'tag', text: t })))
          : h('span', { class: 'muted', text: 'untagged' })),
        h('td', null, h('code', { class: 'digest', title: digest, text: digest })),
        h('td', { class: 'num' }, sizeEl(img.imageSizeInBytes)),
        h('td', { class: 'media-cell' }, h('code', { class: 'media-type', text: img.imageManifestMediaType || img.artifactMediaType || '—' })),
        h('td', { class: 'nowrap' }, timeEl(img.imagePushedAt)),
        h('td', { class: 'pull-cell' }, pulls.map((cmd) => {
          const code = h('code', { class: 'pull-command', text: cmd });
          const copy = h('button', { type: 'button', class: 'copy-pull button-quiet', text: 'Copy', 'aria-label': 'Copy: ' + cmd });
          copy.addEventListener('click', () => copyPull(code, copy, status));
          return h('div', { class: 'pull' }, code, copy);
        })),
        h('td', { class: 'actions-cell' }, retag, h('button', {
          type: 'button', class: 'delete-image button-danger-quiet', text: 'Delete',
          'aria-label': 'Delete the image ' + shortDigest(digest), onclick: () => deleteImage(img),
        })),
      ]);
      return tr;
    }

    async function load() {
      status.textContent = 'Loading images…';
      let images;
      try {
        images = await describeAllImages(name);
      } catch (e) {
        if (!alive(gen)) return;
        status.textContent = '';
        showError(repoError, e);
        return;
      }
      if (!alive(gen)) return;
      images.sort((a, b) => pushedAtMs(b) - pushedAtMs(a));
      tbody.replaceChildren(...images.map(row));
      if (!images.length) tbody.appendChild(emptyRow(7, 'No images yet. Push one with docker push.'));
      status.textContent = images.length + (images.length === 1 ? ' image.' : ' images.');
    }
    load();
  }

  // ---------------------------------------------------------------- policy editors

  // The UTF-16 offset of a 1-based line and column counted in characters (code points).
  function offsetOf(text, line, column) {
    let l = 1;
    let c = 1;
    let i = 0;
    for (const ch of text) {
      if (l === line && c >= column) return i;
      if (l > line) return i;
      if (ch === '\n') {
        if (l === line) return i; // column past the end of the line
        l += 1;
        c = 1;
      } else {
        c += 1;
      }
      i += ch.length;
    }
    return i;
  }

  function posOf(p) {
    if (!p) return null;
    const line = p.line !== undefined ? p.line : p.Line;
    const column = p.column !== undefined ? p.column : p.Column;
    if (typeof line !== 'number') return null;
    return { line, column: typeof column === 'number' ? column : 1 };
  }

  // The template picker, the textarea and the live findings list; the tab adds its buttons.
  function makePolicyEditor({ prefix, label, hint, templateKey, validate, gen }) {
    const select = h('select', { id: prefix + '-template' },
      h('option', { value: '', text: 'Loading the examples…' }));
    select.disabled = true;
    const apply = h('button', { type: 'button', id: prefix + '-template-apply', class: 'button-secondary', text: 'Use this example' });
    const description = h('p', { class: 'hint template-description', id: prefix + '-template-description' });
    select.setAttribute('aria-describedby', description.id);
    const textarea = h('textarea', {
      id: prefix + '-editor', class: 'code-editor', rows: '18', spellcheck: 'false', autocapitalize: 'off',
      autocomplete: 'off', wrap: 'off', 'aria-describedby': prefix + '-findings',
    });
    const findingsSummary = h('p', { class: 'findings-summary', id: prefix + '-findings-summary', role: 'status' });
    const findings = h('ul', { id: prefix + '-findings', class: 'findings', 'aria-label': 'Findings' });
    let list = [];
    let seq = 0;
    let timer = null;
    let inflight = null;

    function drawFindings(fs) {
      list = fs;
      findings.replaceChildren();
      const errors = fs.filter((f) => f.findingType === 'ERROR').length;
      if (errors) textarea.setAttribute('aria-invalid', 'true');
      else textarea.removeAttribute('aria-invalid');
      for (const f of fs) {
        const kind = String(f.findingType || 'WARNING');
        const loc = f.location || null;
        const start = loc && posOf(loc.start);
        const end = loc && posOf(loc.end);
        const reading = (start ? 'line ' + start.line + ', column ' + start.column + ' — ' : '')
          + (f.issueCode || kind) + ': ' + (f.findingDetails || '');
        const cls = 'finding finding-' + kind.toLowerCase().replace(/_/g, '-');
        const li = h('li', { class: cls, 'data-label': FINDING_LABELS[kind] || kind });
        if (start) {
          li.appendChild(h('button', {
            type: 'button', class: 'finding-link', text: reading,
            title: (FINDING_LABELS[kind] || kind) + ' — select this place in the editor',
            onclick: () => selectRange(start, end),
          }));
        } else {
          li.appendChild(h('span', { class: 'finding-text', text: reading }));
        }
        findings.appendChild(li);
      }
      if (!textarea.value.trim()) findingsSummary.textContent = '';
      else if (!fs.length) findingsSummary.textContent = 'No findings: the policy checks out.';
      else {
        findingsSummary.textContent = fs.length + (fs.length === 1 ? ' finding' : ' findings')
          + (errors ? ' (' + errors + (errors === 1 ? ' error' : ' errors') + ' to fix before saving).' : '.');
      }
    }

    function selectRange(start, end) {
      const text = textarea.value;
      const a = offsetOf(text, start.line, start.column);
      let b = end ? offsetOf(text, end.line, end.column) : a;
      if (b <= a) b = Math.min(text.length, a + 1);
      textarea.focus();
      textarea.setSelectionRange(a, b);
      const lh = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
      textarea.scrollTop = Math.max(0, (start.line - 3) * lh);
    }

    async function validateNow() {
      clearTimeout(timer);
      timer = null;
      const text = textarea.value;
      const mine = ++seq;
      if (!text.trim()) {
        drawFindings([]);
        inflight = null;
        return [];
      }
      inflight = (async () => {
        try {
          const r = await validate(text);
          if (mine !== seq || !alive(gen)) return list;
          drawFindings(r.findings || []);
          return list;
        } catch (e) {
          if (mine === seq && alive(gen) && !e.handled) {
            findingsSummary.textContent = 'The policy could not be checked: ' + e.message;
          }
          return list;
        }
      })();
      return inflight;
    }

    let dirty = false; // typed into (or given an example) since the page opened
    textarea.addEventListener('input', () => {
      dirty = true;
      clearTimeout(timer);
      timer = setTimeout(validateNow, 300);
    });

    let choices = [];
    select.addEventListener('change', () => {
      const t = choices[Number(select.value)];
      description.textContent = t ? t.description || '' : '';
    });
    apply.addEventListener('click', () => {
      const t = choices[Number(select.value)];
      if (select.value === '' || !t) {
        description.textContent = 'Choose an example first.';
        select.focus();
        return;
      }
      textarea.value = typeof t.policy === 'string' ? t.policy : JSON.stringify(t.policy, null, 2);
      dirty = true;
      validateNow();
      textarea.focus();
      textarea.setSelectionRange(0, 0);
      textarea.scrollTop = 0;
    });
    templates().then((all) => {
      if (!alive(gen)) return;
      choices = (all && all[templateKey]) || [];
      select.replaceChildren(h('option', { value: '', text: choices.length ? 'Choose an example…' : 'No examples available' }),
        ...choices.map((t, i) => h('option', { value: String(i), text: t.name })));
      select.disabled = !choices.length;
    }, (e) => {
      if (!alive(gen) || e.handled) return;
      select.replaceChildren(h('option', { value: '', text: 'Examples unavailable' }));
      description.textContent = 'The examples could not be loaded: ' + e.message;
    });

    const templateRow = h('div', { class: 'template-row' },
      h('div', { class: 'field' }, h('label', { for: select.id, text: 'Start from an example' }), select),
      apply);
    const editorField = h('div', { class: 'field' },
      h('label', { for: textarea.id, text: label }),
      hint ? h('p', { class: 'hint', id: prefix + '-editor-hint', text: hint }) : null,
      textarea);
    if (hint) textarea.setAttribute('aria-describedby', prefix + '-editor-hint ' + prefix + '-findings');
    const findingsBox = h('div', { class: 'findings-box' },
      h('h3', { text: 'Findings' }), findingsSummary, findings);

    return {
      textarea, templateRow, editorField, findingsBox, validateNow,
      setText(text) {
        textarea.value = text;
        validateNow();
      },
      // The stored policy, unless the user has started editing before it arrived.
      loaded(text) {
        if (dirty) return false;
        textarea.value = text;
        validateNow();
        return true;
      },
      async errorsRemain() {
        await validateNow(); // the text may have changed since the last check
        return list.some((f) => f.findingType === 'ERROR');
      },
    };
  }

  function prettyPolicy(text) {
    if (typeof text !== 'string') return text ? JSON.stringify(text, null, 2) : '';
    return text;
  }

  function renderPolicyTab(panel, name, gen) {
    const status = h('p', { id: 'policy-status', class: 'status', role: 'status' });
    const error = h('p', { id: 'policy-error', class: 'error', role: 'alert' });
    const editor = makePolicyEditor({
      prefix: 'policy', label: 'Repository policy (JSON)', templateKey: 'repository', gen,
      hint: 'Who may do what with this repository. Findings update as you type; select one to jump to it.',
      validate: (text) => api('validate', { policyText: text, policyType: 'repository' }),
    });
    const save = h('button', { type: 'button', id: 'policy-save', class: 'button-primary', text: 'Save policy' });
    const del = h('button', { type: 'button', id: 'policy-delete', class: 'button-danger-quiet', text: 'Delete policy' });
    append(panel, [
      h('h2', { text: 'Repository policy' }),
      editor.templateRow,
      h('div', { class: 'editor-grid' }, editor.editorField, editor.findingsBox),
      error,
      h('div', { class: 'actions' }, save, del),
      status,
    ]);

    wireStoredPolicy({
      name, gen, editor, error, status, save, del,
      noun: 'policy', deleteLabel: 'Delete policy',
      get: 'GetRepositoryPolicy', textField: 'policyText', notFound: 'RepositoryPolicyNotFoundException',
      put: 'SetRepositoryPolicy', putField: 'policyText', remove: 'DeleteRepositoryPolicy',
      confirmTitle: 'Delete repository policy',
      confirmText: 'Delete the repository policy of ' + name + '? Access granted only by this policy stops.',
      saved: 'Policy saved.', deleted: 'Policy deleted. The repository has no policy now.',
      missing: 'This repository has no policy yet. Write one, or start from an example.',
    });
  }

  // A policy stored with a repository (its repository policy, its lifecycle policy): loaded into
  // the editor, saved once its findings hold no error, deleted after a confirmation.
  function wireStoredPolicy(o) {
    const { name, gen, editor, error, status, save, del } = o;
    save.addEventListener('click', async () => {
      clearError(error);
      status.textContent = '';
      const text = editor.textarea.value;
      if (!text.trim()) {
        error.textContent = 'The editor is empty. To remove the ' + o.noun + ', use “' + o.deleteLabel + '”.';
        editor.textarea.focus();
        return;
      }
      if (await editor.errorsRemain()) {
        if (!alive(gen)) return;
        error.textContent = 'The ' + o.noun + ' has errors (see the findings). Fix them before saving.';
        return;
      }
      save.disabled = true;
      try {
        await ecr(o.put, { repositoryName: name, [o.putField]: text });
        if (alive(gen)) status.textContent = o.saved;
      } catch (e) {
        if (alive(gen)) showError(error, e);
      } finally {
        save.disabled = false;
      }
    });

    del.addEventListener('click', async () => {
      clearError(error);
      status.textContent = '';
      const ok = await confirmAction({ title: o.confirmTitle, text: o.confirmText, okLabel: o.deleteLabel });
      if (!ok || !alive(gen)) return;
      try {
        await ecr(o.remove, { repositoryName: name });
      } catch (e) {
        if (alive(gen)) showError(error, e);
        return;
      }
      if (!alive(gen)) return;
      editor.setText('');
      status.textContent = o.deleted;
      del.focus();
    });

    (async () => {
      status.textContent = 'Loading the ' + o.noun + '…';
      try {
        const r = await ecr(o.get, { repositoryName: name });
        if (!alive(gen)) return;
        editor.loaded(prettyPolicy(r[o.textField]));
        status.textContent = '';
      } catch (e) {
        if (!alive(gen)) return;
        if (e.type === o.notFound) {
          editor.loaded('');
          status.textContent = o.missing;
          return;
        }
        status.textContent = '';
        showError(error, e);
      }
    })();
  }

  function renderLifecycleTab(panel, name, gen) {
    const status = h('p', { id: 'lifecycle-status', class: 'status', role: 'status' });
    const error = h('p', { id: 'lifecycle-error', class: 'error', role: 'alert' });
    const editor = makePolicyEditor({
      prefix: 'lifecycle', label: 'Lifecycle policy (JSON)', templateKey: 'lifecycle', gen,
      hint: 'Rules that expire old images. Preview shows what they would expire before you save.',
      validate: (text) => api('validate-lifecycle', { lifecyclePolicyText: text }),
    });
    const preview = h('button', { type: 'button', id: 'lifecycle-preview', class: 'button-secondary', text: 'Preview' });
    const save = h('button', { type: 'button', id: 'lifecycle-save', class: 'button-primary', text: 'Save lifecycle policy' });
    const del = h('button', { type: 'button', id: 'lifecycle-delete', class: 'button-danger-quiet', text: 'Delete lifecycle policy' });
    const tbody = h('tbody');
    const table = h('table', { id: 'lifecycle-preview-table' },
      h('caption', { class: 'visually-hidden', text: 'Lifecycle preview' }),
      thead(['Tags', 'Digest', 'Size', 'Pushed at', 'Expires by rule']), tbody);
    const previewSection = h('section', { class: 'preview', 'aria-labelledby': 'lifecycle-preview-heading' },
      h('h3', { id: 'lifecycle-preview-heading', text: 'Preview' }),
      h('p', { class: 'hint', text: 'Every image of the repository; those the rules would expire are marked, with the priority of the rule that expires them.' }),
      tableWrap(table, 'Lifecycle preview table'));
    previewSection.hidden = true;
    append(panel, [
      h('h2', { text: 'Lifecycle policy' }),
      editor.templateRow,
      h('div', { class: 'editor-grid' }, editor.editorField, editor.findingsBox),
      error,
      h('div', { class: 'actions' }, preview, save, del),
      status,
      previewSection,
    ]);

    wireStoredPolicy({
      name, gen, editor, error, status, save, del,
      noun: 'lifecycle policy', deleteLabel: 'Delete lifecycle policy',
      get: 'GetLifecyclePolicy', textField: 'lifecyclePolicyText', notFound: 'LifecyclePolicyNotFoundException',
      put: 'PutLifecyclePolicy', putField: 'lifecyclePolicyText', remove: 'DeleteLifecyclePolicy',
      confirmTitle: 'Delete lifecycle policy',
      confirmText: 'Delete the lifecycle policy of ' + name + '? No image will expire by its rules any more.',
      saved: 'Lifecycle policy saved.', deleted: 'Lifecycle policy deleted.',
      missing: 'This repository has no lifecycle policy yet. Write one, or start from an example.',
    });

    preview.addEventListener('click', async () => {
      clearError(error);
      const text = editor.textarea.value;
      if (!text.trim()) {
        error.textContent = 'Write a lifecycle policy (or start from an example) to preview it.';
        editor.textarea.focus();
        return;
      }
      preview.disabled = true;
      try {
        status.textContent = 'Starting the preview…';
        await ecr('StartLifecyclePolicyPreview', { repositoryName: name, lifecyclePolicyText: text });
        const deadline = Date.now() + 30000;
        let r;
        for (;;) {
          if (!alive(gen)) return;
          r = await ecr('GetLifecyclePolicyPreview', { repositoryName: name });
          if (!alive(gen)) return;
          if (r.status === 'COMPLETE') break;
          if (r.status === 'FAILED' || r.status === 'EXPIRED') {
            throw new ApiError('PreviewFailed', 'The preview ' + r.status.toLowerCase() + '. Check the policy and try again.');
          }
          if (Date.now() > deadline) {
            throw new ApiError('PreviewTimeout', 'The preview did not finish within 30 seconds. Try again later.');
          }
          status.textContent = 'The preview is running…';
          await sleep(500);
        }
        const results = [...(r.previewResults || [])];
        let nextToken = r.nextToken;
        for (let pages = 0; nextToken && pages < 100; pages += 1) {
          const more = await ecr('GetLifecyclePolicyPreview', { repositoryName: name, nextToken });
          if (!alive(gen)) return;
          results.push(...(more.previewResults || []));
          nextToken = more.nextToken;
        }
        const images = await describeAllImages(name);
        if (!alive(gen)) return;
        drawPreview(images, results);
      } catch (e) {
        if (!alive(gen)) return;
        status.textContent = '';
        showError(error, e);
      } finally {
        preview.disabled = false;
      }
    });

    function drawPreview(images, results) {
      const byDigest = new Map();
      for (const res of results) byDigest.set(res.imageDigest, res);
      const rows = images.map((img) => ({ img, res: byDigest.get(img.imageDigest) }));
      const known = new Set(images.map((i) => i.imageDigest));
      for (const res of results) {
        if (!known.has(res.imageDigest)) rows.push({ img: res, res });
      }
      rows.sort((a, b) => pushedAtMs(b.img) - pushedAtMs(a.img));
      tbody.replaceChildren(...rows.map(({ img, res }) => {
        const tags = img.imageTags || [];
        const rule = res ? res.appliedRulePriority : null;
        return h('tr', { 'data-digest': img.imageDigest, class: res ? 'expiring' : null },
          h('td', { class: 'tags-cell' }, tags.length
            ? h('ul', { class: 'tags' }, tags.map((t) => h('li', { class: 'tag', text: t })))
            : h('span', { class: 'muted', text: 'untagged' })),
          h('td', null, h('code', { class: 'digest', title: img.imageDigest, text: img.imageDigest })),
          h('td', { class: 'num' }, sizeEl(img.imageSizeInBytes)),
          h('td', { class: 'nowrap' }, timeEl(img.imagePushedAt)),
          h('td', {
            class: 'rule', title: res ? 'Expires by the rule with priority ' + rule : 'No rule expires this image',
            text: res ? String(rule === null || rule === undefined ? '?' : rule) : 'kept',
          }));
      }));
      if (!rows.length) tbody.appendChild(emptyRow(5, 'The repository has no images.'));
      previewSection.hidden = false;
      const n = results.length;
      status.textContent = 'Preview complete: ' + n + ' of ' + rows.length
        + (rows.length === 1 ? ' image' : ' images') + ' would expire.';
    }
  }

  // ---------------------------------------------------------------- simulator

  function actionsDatalist(id) {
    return h('datalist', { id }, ECR_ACTIONS.map((a) => h('option', { value: a })));
  }

  function normalizeAction(a) {
    const s = a.trim();
    return s && !s.includes(':') ? 'ecr:' + s : s;
  }

  function renderSimulate(view, route, gen) {
    pageTitle('Simulator');
    const principal = h('input', {
      id: 'sim-principal', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
      value: route.params.get('principal') || state.session.principal || '',
    });
    const action = h('input', {
      id: 'sim-action', type: 'text', list: 'sim-actions', autocomplete: 'off', spellcheck: 'false',
      autocapitalize: 'off', placeholder: 'ecr:PutImage', value: route.params.get('action') || '',
    });
    const repo = h('input', {
      id: 'sim-repository', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
      value: route.params.get('repository') || '',
    });
    const context = h('textarea', {
      id: 'sim-context', rows: '3', spellcheck: 'false', autocapitalize: 'off',
      placeholder: 'aws:SourceIp=10.0.0.1', 'aria-describedby': 'sim-error',
    });
    const run = h('button', { type: 'submit', id: 'sim-run', class: 'button-primary', text: 'Simulate' });
    const error = h('p', { id: 'sim-error', class: 'error', role: 'alert' });
    const form = h('form', { id: 'sim-form', class: 'form-grid', novalidate: true },
      field('sim-principal', 'Principal', principal, 'The ARN of a user, role or account. You, by default.'),
      field('sim-action', 'Action', action, 'An ECR action, such as ecr:PutImage.'),
      field('sim-repository', 'Repository (optional)', repo, 'Leave empty for an action on no repository, such as ecr:GetAuthorizationToken.'),
      field('sim-context', 'Request context (optional)', context, 'One key=value per line, such as aws:SourceIp=10.0.0.1. Repeat a key for several values.'),
      error,
      h('div', { class: 'actions' }, run),
      actionsDatalist('sim-actions'));

    const decision = h('p', { id: 'sim-decision', class: 'decision' });
    const rule = h('p', { id: 'sim-rule', class: 'rule-text' });
    const resource = h('p', { id: 'sim-resource', class: 'resource' });
    const message = h('p', { id: 'sim-message', class: 'aws-message' });
    const messageBox = h('div', { class: 'aws-message-box' },
      h('p', { class: 'label', text: 'What the registry would answer' }), message);
    const missing = h('p', { id: 'sim-missing', class: 'hint' });
    const stBody = h('tbody');
    const statements = h('table', { id: 'sim-statements' },
      h('caption', { class: 'visually-hidden', text: 'Statements considered' }),
      thead(['Policy', 'Role', 'Statement', 'Effect', 'Matched', 'What it lacks']), stBody);
    const suggestions = h('ul', { id: 'sim-suggestions', class: 'suggestions' });
    const suggestionsBox = h('section', { class: 'suggestions-box', 'aria-labelledby': 'sim-suggestions-heading' },
      h('h3', { id: 'sim-suggestions-heading', text: 'What would make it allowed' }), suggestions);
    const results = h('section', { class: 'results', 'aria-labelledby': 'sim-results-heading' },
      h('h2', { id: 'sim-results-heading', text: 'Result' }),
      decision, rule, resource, messageBox, missing, suggestionsBox,
      h('h3', { text: 'Statements considered' }), tableWrap(statements, 'Statements table'));
    results.hidden = true;

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearError(error);
      context.removeAttribute('aria-invalid');
      const body = { principal: principal.value.trim(), action: normalizeAction(action.value) };
      if (!body.principal) {
        error.textContent = 'Enter the ARN of the principal to simulate.';
        principal.focus();
        return;
      }
      if (!body.action) {
        error.textContent = 'Enter the action to simulate, such as ecr:PutImage.';
        action.focus();
        return;
      }
      if (repo.value.trim()) body.repositoryName = repo.value.trim();
      const parsed = parseKeyValueLines(context.value, 'key=value');
      if (parsed.problems.length) {
        error.textContent = 'Request context: ' + parsed.problems.join(' ');
        context.setAttribute('aria-invalid', 'true');
        context.focus();
        return;
      }
      if (parsed.pairs.length) {
        const byKey = new Map();
        for (const [k, v] of parsed.pairs) {
          if (!byKey.has(k)) byKey.set(k, []);
          byKey.get(k).push(v);
        }
        body.context = [...byKey].map(([key, values]) => ({ key, values }));
      }
      run.disabled = true;
      let r;
      try {
        r = await api('simulate', body);
      } catch (e) {
        if (alive(gen)) showError(error, e);
        return;
      } finally {
        run.disabled = false;
      }
      if (!alive(gen)) return;
      drawResult(r);
    });

    function drawResult(r) {
      const words = {
        allowed: 'Allowed', explicitDeny: 'Denied — explicit deny', implicitDeny: 'Denied — no policy allows',
      };
      decision.textContent = words[r.decision] || String(r.decision || 'Unknown');
      decision.className = 'decision ' + (r.decision === 'allowed' ? 'decision-allowed' : 'decision-denied');
      rule.textContent = r.rule ? 'Why: ' + r.rule : '';
      resource.replaceChildren();
      if (r.resource) append(resource, ['Resource: ', h('code', { text: r.resource })]);
      message.textContent = r.message || '';
      messageBox.hidden = !r.message;
      const miss = r.missingContextKeys || [];
      missing.textContent = miss.length
        ? 'The policies check context keys you did not give: ' + miss.join(', ') + '. Add them under “Request context” to see how they change the answer.'
        : '';
      stBody.replaceChildren(...(r.statements || []).map((s) => h('tr', null,
        h('td', null, h('code', { text: s.policyId || '' })),
        h('td', { text: s.role || '' }),
        h('td', { text: '#' + s.index + (s.sid ? ' (' + s.sid + ')' : '') }),
        h('td', { class: 'effect effect-' + String(s.effect || '').toLowerCase(), text: s.effect || '' }),
        h('td', { text: s.matched ? 'Yes' : s.notApplicable ? 'Not applicable' : 'No' }),
        h('td', null, (s.lacks || []).length
          ? h('ul', { class: 'plain' }, s.lacks.map((w) => h('li', { text: w })))
          : h('span', { class: 'muted', text: '—' })))));
      if (!(r.statements || []).length) stBody.appendChild(emptyRow(6, 'No policy statement applies to this request.'));
      const sug = r.suggestions || [];
      suggestions.replaceChildren(...sug.map((s) => h('li', { text: s })));
      suggestionsBox.hidden = !sug.length;
      results.hidden = false;
    }

    append(view, [
      h('div', { class: 'page-head' },
        h('h1', { tabindex: '-1', text: 'Simulator' }),
        h('p', { class: 'lede', text: 'Can a principal do an action here? The registry evaluates its policies exactly as it would for a real request, and explains why.' })),
      h('section', { class: 'panel', 'aria-label': 'Request to simulate' }, form),
      results,
    ]);
  }

  // ---------------------------------------------------------------- trail

  function renderTrail(view, route, gen) {
    pageTitle('Trail');
    const attr = h('select', { id: 'trail-attr' },
      h('option', { value: '', text: 'Any event (newest first)' }),
      TRAIL_ATTRIBUTES.map(([v, t]) => h('option', { value: v, text: t })));
    const value = h('input', { id: 'trail-value', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off' });
    const search = h('button', { type: 'submit', id: 'trail-search', class: 'button-primary', text: 'Look up' });
    const error = h('p', { id: 'trail-error', class: 'error', role: 'alert' });
    const status = h('p', { id: 'trail-status', class: 'status', role: 'status' });
    const more = h('button', { type: 'button', id: 'trail-more', class: 'button-secondary', text: 'Load more' });
    more.hidden = true;
    const tbody = h('tbody');
    const table = h('table', { id: 'trail-table' },
      h('caption', { class: 'visually-hidden', text: 'Trail events' }),
      thead(['Time', 'Event', 'User', 'Resource', 'Error code', 'Details']), tbody);
    const form = h('form', { id: 'trail-form', class: 'form-row', novalidate: true },
      field('trail-attr', 'Look up by', attr),
      field('trail-value', 'Value', value),
      h('div', { class: 'actions' }, search));
    const pa = route.params.get('attr');
    if (pa && TRAIL_ATTRIBUTES.some(([v]) => v === pa)) {
      attr.value = pa;
      value.value = route.params.get('value') || '';
    }

    let lookup = null;
    let nextToken = null;
    let count = 0;

    function eventRow(e) {
      let detail = null;
      let text = e.CloudTrailEvent;
      if (typeof text === 'string') {
        try {
          detail = JSON.parse(text);
          text = JSON.stringify(detail, null, 2);
        } catch (err) {
          detail = null;
        }
      } else if (text && typeof text === 'object') {
        detail = text;
        text = JSON.stringify(text, null, 2);
      } else {
        text = '';
      }
      const errorCode = detail && detail.errorCode;
      const user = e.Username || (detail && detail.userIdentity && detail.userIdentity.arn) || '';
      const resources = (e.Resources || []).map((r) => r.ResourceName).filter(Boolean);
      return h('tr', { 'data-event-id': e.EventId || '' },
        h('td', { class: 'nowrap' }, timeEl(e.EventTime)),
        h('td', null, h('span', { class: 'event-name', text: e.EventName || '' }),
          e.EventSource ? h('span', { class: 'muted small block', text: e.EventSource }) : null),
        h('td', { class: 'wrap', text: user }),
        h('td', { class: 'wrap', text: resources.join(', ') }),
        h('td', { class: errorCode ? 'error-code' : 'muted', title: detail && detail.errorMessage ? detail.errorMessage : null, text: errorCode || '—' }),
        h('td', { class: 'details-cell' }, h('details', null,
          h('summary', { text: 'Event JSON' }),
          h('pre', { class: 'event-json' }, h('code', { text })))));
    }

    async function fetchPage(first) {
      clearError(error);
      const body = { MaxResults: 50 };
      if (lookup) body.LookupAttributes = [lookup];
      if (!first && nextToken) body.NextToken = nextToken;
      search.disabled = true;
      more.disabled = true;
      status.textContent = 'Loading events…';
      let r;
      try {
        r = await api('trail', body);
      } catch (e) {
        if (!alive(gen)) return;
        status.textContent = '';
        showError(error, e);
        return;
      } finally {
        search.disabled = false;
        more.disabled = false;
      }
      if (!alive(gen)) return;
      const events = r.Events || [];
      if (first) {
        tbody.replaceChildren();
        count = 0;
      }
      const firstNew = events.length ? eventRow(events[0]) : null;
      if (firstNew) tbody.appendChild(firstNew);
      for (const e of events.slice(1)) tbody.appendChild(eventRow(e));
      count += events.length;
      nextToken = r.NextToken || null;
      more.hidden = !nextToken;
      if (!count) tbody.replaceChildren(emptyRow(6, 'No events found.'));
      status.textContent = count + (count === 1 ? ' event' : ' events') + (nextToken ? ', more available.' : '.');
      if (!first && firstNew) {
        const link = firstNew.querySelector('summary');
        if (link) link.focus();
      }
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const key = attr.value;
      const v = value.value.trim();
      if (key && !v) {
        error.textContent = 'Enter the value to look up, or choose “Any event”.';
        value.focus();
        return;
      }
      lookup = key ? { AttributeKey: key, AttributeValue: v } : null;
      nextToken = null;
      fetchPage(true);
    });
    more.addEventListener('click', () => fetchPage(false));

    append(view, [
      h('div', { class: 'page-head' },
        h('h1', { tabindex: '-1', text: 'Trail' }),
        h('p', { class: 'lede', text: 'Who did what, and when: every call to the registry, newest first, as CloudTrail records them.' })),
      h('section', { class: 'panel', 'aria-label': 'Look up events' }, form, error),
      status,
      tableWrap(table, 'Trail events table'),
      h('div', { class: 'actions' }, more),
    ]);
    lookup = attr.value && value.value.trim() ? { AttributeKey: attr.value, AttributeValue: value.value.trim() } : null;
    fetchPage(true);
  }

  // ---------------------------------------------------------------- who can

  // A condition as words: a string as it is, {key: value, ...} as "key = value and ...".
  function conditionWords(c) {
    if (typeof c === 'string') return c;
    if (c && typeof c === 'object') {
      const parts = Object.entries(c).map(([k, v]) => k + ' = ' + (typeof v === 'string' ? v : JSON.stringify(v)));
      return parts.length ? parts.join(' and ') : 'always';
    }
    return String(c);
  }

  function renderWhoCan(view, route, gen) {
    pageTitle('Who can');
    const action = h('input', {
      id: 'who-action', type: 'text', list: 'who-actions', autocomplete: 'off', spellcheck: 'false',
      autocapitalize: 'off', placeholder: 'ecr:PutImage', value: route.params.get('action') || '',
    });
    const repo = h('input', {
      id: 'who-repository', type: 'text', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
      value: route.params.get('repository') || '',
    });
    const run = h('button', { type: 'submit', id: 'who-run', class: 'button-primary', text: 'Find principals' });
    const error = h('p', { id: 'who-error', class: 'error', role: 'alert' });
    const status = h('p', { id: 'who-status', class: 'status', role: 'status' });
    const resource = h('p', { class: 'resource' });
    const tbody = h('tbody');
    const table = h('table', { id: 'who-table' },
      h('caption', { class: 'visually-hidden', text: 'Principals with access' }),
      thead(['Principal', 'Kind', 'Access', 'Conditions']), tbody);
    const outsideList = h('ul', { class: 'plain-list' });
    const outsideBox = h('div', null,
      h('h3', { text: 'Outside this registry’s identities' }),
      h('p', { class: 'hint', text: 'The repository policy also lets these in; their own account must allow the call too.' }),
      outsideList);
    outsideBox.hidden = true;
    const undecidedList = h('ul', { class: 'plain-list' });
    const undecidedBox = h('div', null, h('h3', { text: 'Could not be decided' }), undecidedList);
    undecidedBox.hidden = true;
    const results = h('section', { class: 'results', 'aria-labelledby': 'who-results-heading' },
      h('h2', { id: 'who-results-heading', text: 'Principals with access' }), resource,
      tableWrap(table, 'Principals table'), outsideBox, undecidedBox);
    results.hidden = true;
    const form = h('form', { id: 'who-form', class: 'form-row', novalidate: true },
      field('who-action', 'Action', action),
      field('who-repository', 'Repository', repo),
      h('div', { class: 'actions' }, run),
      actionsDatalist('who-actions'));

    async function go() {
      clearError(error);
      const body = { action: normalizeAction(action.value) };
      if (!body.action) {
        error.textContent = 'Enter an action, such as ecr:PutImage.';
        action.focus();
        return;
      }
      body.repositoryName = repo.value.trim();
      if (!body.repositoryName) {
        error.textContent = 'Enter the name of a repository.';
        repo.focus();
        return;
      }
      run.disabled = true;
      status.textContent = 'Working it out…';
      let r;
      try {
        r = await api('who-can', body);
      } catch (e) {
        if (!alive(gen)) return;
        status.textContent = '';
        showError(error, e);
        return;
      } finally {
        run.disabled = false;
      }
      if (!alive(gen)) return;
      const ps = r.principals || [];
      resource.replaceChildren();
      if (r.resource) append(resource, ['Resource: ', h('code', { text: r.resource })]);
      tbody.replaceChildren(...ps.map((p) => {
        const access = p.access || (p.always === false ? 'conditional' : 'allowed');
        const conditions = p.conditions || [];
        return h('tr', { 'data-principal': p.principal || '' },
          h('th', { scope: 'row' }, h('code', { text: p.principal || '' })),
          h('td', { text: p.kind || p.type || '' }),
          h('td', {
            class: 'access access-' + access,
            text: access === 'allowed' ? 'Allowed' : access === 'conditional' ? 'Allowed under conditions' : String(access),
          }),
          h('td', null, conditions.length
            ? h('ul', { class: 'plain' }, conditions.map((c) => h('li', { text: conditionWords(c) })))
            : h('span', { class: 'muted', text: 'none' })));
      }));
      if (!ps.length) tbody.appendChild(emptyRow(4, 'No principal of this registry can do this.'));
      const outside = r.outsideTheStore || [];
      outsideList.replaceChildren(...outside.map((o) => h('li', null,
        h('code', { text: typeof o.principal === 'string' ? o.principal : JSON.stringify(o.principal) }),
        o.isPublic ? ' (public)' : '',
        o.condition && Object.keys(o.condition).length ? ' — when ' + conditionWords(o.condition) : '',
        o.note ? ' — ' + o.note : '')));
      outsideBox.hidden = !outside.length;
      const undecided = r.undecided || [];
      undecidedList.replaceChildren(...undecided.map((u) => h('li', {
        text: (u.principal ? u.principal + ': ' : u.statementIndex !== undefined ? 'Statement ' + u.statementIndex + ': ' : '')
          + (u.reason || ''),
      })));
      undecidedBox.hidden = !undecided.length;
      results.hidden = false;
      status.textContent = ps.length + (ps.length === 1 ? ' principal has access.' : ' principals have access.');
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      go();
    });

    append(view, [
      h('div', { class: 'page-head' },
        h('h1', { tabindex: '-1', text: 'Who can' }),
        h('p', { class: 'lede', text: 'Which principals can do an action on a repository, and under which conditions.' })),
      h('section', { class: 'panel', 'aria-label': 'Question' }, form, error),
      status, results,
    ]);
    if (action.value.trim() && repo.value.trim()) go();
  }

  // ---------------------------------------------------------------- start

  async function init() {
    $('signin').addEventListener('submit', onSignin);
    $('signout').addEventListener('click', onSignout);
    window.addEventListener('hashchange', () => render(false));
    document.addEventListener('click', (ev) => {
      const a = ev.target instanceof Element ? ev.target.closest('a[href^="#/"]') : null;
      if (a && $('view').contains(a)) state.contentLinkAt = Date.now();
    }, true);
    let res;
    let data = null;
    try {
      res = await fetch('/console/api/session', { credentials: 'same-origin', cache: 'no-store' });
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    } catch (e) {
      $('page-loading').hidden = true;
      $('page-error').textContent = 'Could not reach the registry. Reload the page to try again.';
      return;
    }
    if (res.ok && data && data.principal) {
      showApp(data);
    } else if (res.status === 401) {
      const type = errorType(data && data.__type);
      showSignin(type === 'ExpiredTokenException' ? EXPIRED_NOTICE : '');
    } else {
      $('page-loading').hidden = true;
      $('page-error').textContent = (data && data.message) || 'The console could not start (' + res.status + ').';
    }
  }

  init();
})();
